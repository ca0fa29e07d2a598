/** The interface of an ETL program the emulated Glue runs (see registry.ts). */
/** What an ETL program may do: read and list objects of the emulated S3 and write its outputs. */
export interface EtlIo {
  /** The object's bytes; undefined when it does not exist. */
  read(uri: string): Buffer | undefined;
  /** `s3://bucket/key` of every object under the prefix URI, in key order. */
  list(prefixUri: string): string[];
  /** Staged: the outputs are written to S3 when the run succeeds, not before. */
  write(uri: string, body: Buffer | string, contentType?: string): void;
}

/** What a run reports: it sets the run's duration (bigger inputs run longer). */
export interface EtlResult {
  rowsRead: number;
  bytesRead: number;
  outputs: string[];
}

/** Thrown for bad input: the run fails with this message as its `ErrorMessage`. */
export class EtlError extends Error {
  override readonly name = 'EtlError';
}

export interface EtlProgram {
  name: string;
  description: string;
  /** Arguments as Glue passes them: `--name` -> value. */
  run(args: Readonly<Record<string, string>>, io: EtlIo): EtlResult;
}

