// on-exit-leak-free ships no types; these are the two calls we use.
// https://github.com/mcollina/on-exit-leak-free#usage
declare module 'on-exit-leak-free' {
  export function register<T extends object>(
    object: T,
    onExit: (object: T, event: 'exit') => void,
  ): void;
  export function unregister(object: object): void;
}
