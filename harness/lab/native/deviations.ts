/**
 * What the native lab changes in each product's stock configuration where the change can bear on a verdict, for
 * the report's Lab section (a reader must be able to tell the product from the lab's deployment of it). Wiring
 * every deployment needs — addresses, certificates from the lab CA, the lab DNS, data folders — is not listed.
 * Each line names the setting, so a reader can compare it with their own deployment. Keep in step with the adapters.
 */
const deviations: Record<string, readonly string[]> = {
  synapse: [
    'rate limits (rc_*) unlimited so bursts of test traffic never wait; failed logins per account keep the stock limit, and every stock limit comes back for SEC-BRUTE',
    'federation retry after an unreachable peer 2 s min / 10 s max (federation.destination_min/max_retry_interval; stock 10 min / 1 week)',
    'guest access on (allow_guest_access; stock off) — the deployments the guest-access profile assumes offer it',
    'bcrypt_rounds 4 (stock 12): faster account provisioning, no change in protocol behaviour',
    'no trusted key server (trusted_key_servers: []; stock matrix.org); loopback allowed as a federation destination (ip_range_whitelist 127.0.0.0/8)',
    'client API served over TLS on the federation listener :8448 besides plain HTTP :8008 (in place of a TLS proxy)',
    'with a retention lifetime: purge jobs every 5 s (stock: once a day)',
    'records also written as JSON lines (homeserver.jsonl, Synapse\'s TerseJsonFormatter) beside the text log: AUD-EXPORT\'s answer is about this logging configuration',
  ],
  dendrite: [
    'client API rate limiting off (client_api.rate_limiting; stock on); back on for SEC-BRUTE',
    'guests allowed (client_api.guests_disabled false; stock true)',
    'bcrypt_cost 4 (stock 10): faster account provisioning',
    'no notary key servers (federation_api.key_perspectives: []; stock matrix.org); loopback allowed as a federation destination (deny_networks empty)',
  ],
  prosody: [
    'guest host guest.<domain> with SASL ANONYMOUS, MUC component conference.<domain> (muc_room_locking false, restrict_room_creation "local"), HTTP upload component upload.<domain> — Debian\'s stock config has them commented out',
    'log timestamps in UTC with a Z suffix (log … timestamps = "!%Y-%m-%dT%H:%M:%SZ")',
    'with a retention lifetime: mod_mam and mod_muc_mam with archive_expires_after / muc_log_expires_after (no archive in the lab otherwise)',
    'with a file lifetime: http_file_share_expires_after on the upload component (stock 1 week)',
  ],
  ejabberd: [
    'shapers off (c2s_shaper, s2s_shaper: none; stock 3000 B/s for c2s); back on for SEC-BRUTE',
    's2s_max_retry_delay 10 s (stock up to 300 s of bouncing stanzas for an unreachable peer)',
    'guest host guest.<domain> (SASL ANONYMOUS), MUC on conference.<domain> where only the organisation\'s own users create rooms (muc_create), mod_http_upload on upload.<domain> (commented out in the stock config)',
  ],
};

/** The lab's deviations from `implementation`'s stock configuration; empty for an implementation the lab does not run. */
export function labDeviationsOf(implementation: string): readonly string[] {
  return deviations[implementation] ?? [];
}
