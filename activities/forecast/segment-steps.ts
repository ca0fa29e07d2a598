/**
 * The steps a segment workflow runs, each one activity that creates (or adopts) and waits, polled by its retries:
 * a wait costs the history the same three events whatever it lasts, and a retried or restarted attempt finds what an
 * earlier one created by its deterministic name. They are composed from the backend's operations, which stay the
 * unit of each AWS call.
 */
import type { ForecastPipelineConfig, ModelRecord } from '../../workflows/forecast/model';
import type { ForecastBackend, SegmentDatasets } from './forecast-backend';

/** The roles a forecast records before it is made: the promoted champion and the one it retires, or a rejected challenger. */
export interface RoleChange {
  promotedId?: string;
  formerChampionId?: string;
  rejectedId?: string;
  at: string;
}

export interface PreparedSegment {
  ds: SegmentDatasets;
  dataEnd: string;
  champion?: ModelRecord;
}

export function createSegmentSteps(backend: ForecastBackend) {
  return {
    /** The datasets, this run's three imports created or adopted and done ("not yet" until they are), and the champion. */
    async prepareSegment(config: ForecastPipelineConfig, segment: string, runKey: string): Promise<PreparedSegment> {
      const ds = await backend.ensureDatasets(config, segment);
      const imports = await backend.startImports(config, segment, runKey, ds);
      const { dataEnd } = await backend.waitImports(imports);
      const champion = await backend.findChampion(config, segment);
      return { ds, dataEnd, ...(champion ? { champion } : {}) };
    },

    /** This run's challenger created (a retrain of the champion where there is one) or adopted, and trained. */
    async trainChallenger(config: ForecastPipelineConfig, segment: string, runKey: string, dataEnd: string, datasetGroupArn: string, championId?: string): Promise<ModelRecord> {
      const id = await backend.startChallenger(config, segment, runKey, dataEnd, datasetGroupArn, championId);
      return backend.waitChallenger(id);
    },

    /** The decision recorded on the predictors (again on each poll: tags are idempotent), then the forecast made and exported. */
    async forecastWith(config: ForecastPipelineConfig, segment: string, runKey: string, modelId: string, roles?: RoleChange): Promise<{ forecastId: string; exportId: string; files: string[] }> {
      if (roles) await backend.recordRoles(roles.promotedId, roles.formerChampionId, roles.rejectedId, roles.at);
      const forecastId = await backend.startForecast(config, segment, runKey, modelId);
      return { forecastId, ...(await backend.waitForecast(config, segment, runKey, forecastId)) };
    },
  };
}
