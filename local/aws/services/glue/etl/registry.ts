/**
 * The ETL programs the emulated Glue can run. A real Glue job runs the PySpark script at its `ScriptLocation`; the
 * emulator cannot, so the script object names a TypeScript ETL module in a comment line of its first kilobyte:
 *
 *     # mlops-emulator-etl: forecast-datasets
 *
 * and the run executes that module against the emulated S3 with the run's arguments (job defaults, then the run's
 * own). To model your own job: write a module exporting an `EtlProgram` next to `forecast-datasets.ts`, add it to
 * `ETL_PROGRAMS` below, and put the marker line at the top of your real script. See local/aws/services/glue/README.md.
 */
import { forecastDatasets } from './forecast-datasets';
import type { EtlProgram } from './types';

export { EtlError, type EtlIo, type EtlProgram, type EtlResult } from './types';

export const ETL_PROGRAMS: readonly EtlProgram[] = [forecastDatasets];

const MARKER = /^[ \t]*(?:#|\/\/)[ \t]*mlops-emulator-etl:[ \t]*([A-Za-z0-9_.-]+)[ \t]*$/m;

/** The program a script names, or why none. */
export function programOf(script: Buffer): { program: EtlProgram } | { problem: string } {
  const head = script.subarray(0, 1024).toString('utf8');
  const name = MARKER.exec(head)?.[1];
  if (!name) return { problem: 'the script names no emulated ETL program (add a line "# mlops-emulator-etl: <name>" to its first kilobyte)' };
  const program = ETL_PROGRAMS.find((p) => p.name === name);
  if (!program) return { problem: `the script names the ETL program "${name}", which the emulator does not have (known: ${ETL_PROGRAMS.map((p) => p.name).join(', ')})` };
  return { program };
}
