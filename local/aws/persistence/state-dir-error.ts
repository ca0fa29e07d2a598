/** A state directory the emulator cannot use: start fails with this one line rather than starting empty over it. */
export class StateDirError extends Error {
  override readonly name = 'StateDirError';
  constructor(
    readonly path: string,
    reason: string,
    advice = 'Nothing was changed; move the state directory aside (or delete it to start empty), or run the mlops version that wrote it',
  ) {
    super(`emulator state ${path} cannot be used: ${reason}. ${advice}`);
  }
}
