/** A build failure that says what is wrong and what to run about it; the CLI prints only the message. */
export class ImageBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageBuildError';
  }
}
