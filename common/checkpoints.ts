/**
 * Where a checkpointed processing job writes its checkpoints (the contract between the job's container, the emulator
 * that simulates it and the workflow that resumes it): under the S3Uri of the output named `checkpoints`, else under
 * `_checkpoints/` of the first output; one object `<step>.json` per completed step. Pure: workflows import it.
 */
export function checkpointLocation(request: Record<string, unknown>): { bucket: string; prefix: string } | undefined {
  const outputs = (request.ProcessingOutputConfig as { Outputs?: { OutputName?: string; S3Output?: { S3Uri?: string } }[] } | undefined)?.Outputs ?? [];
  const chosen = outputs.find((o) => o.OutputName === 'checkpoints') ?? outputs[0];
  const m = chosen?.S3Output?.S3Uri ? /^s3:\/\/([^/]+)\/?(.*)$/.exec(chosen.S3Output.S3Uri) : null;
  if (!m) return undefined;
  const base = (m[2] ?? '').replace(/\/+$/, '');
  const prefix = chosen?.OutputName === 'checkpoints' ? (base ? `${base}/` : '') : `${base ? `${base}/` : ''}_checkpoints/`;
  return { bucket: m[1] as string, prefix };
}

/** The step a checkpoint object's key names, or undefined for another key. */
export function checkpointStep(prefix: string, key: string): string | undefined {
  return key.startsWith(prefix) && key.endsWith('.json') && !key.slice(prefix.length).includes('/') ? key.slice(prefix.length, -'.json'.length) : undefined;
}
