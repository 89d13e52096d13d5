/** another-json ships no types: Matrix canonical JSON (sorted keys, no insignificant whitespace). */
declare module 'another-json' {
  export function stringify(value: unknown): string;
  const anotherJson: { stringify: typeof stringify };
  export default anotherJson;
}
