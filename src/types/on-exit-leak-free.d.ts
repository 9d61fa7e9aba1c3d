// on-exit-leak-free ships no types; this is the one call we use.
// https://github.com/mcollina/on-exit-leak-free#usage
declare module 'on-exit-leak-free' {
  export function register<T extends object>(
    object: T,
    onExit: (object: T, event: 'exit') => void,
  ): void;
}
