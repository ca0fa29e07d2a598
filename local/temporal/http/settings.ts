/**
 * `GET /api/v1/settings`: what Temporal's UI server tells the UI about itself (PascalCase, as that server writes it).
 * Version is the @temporalio/ui release the app is built from: at 2.23.0 or later the UI encodes path parameters
 * once and sends the current request shapes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../common/project-root';

export interface UiSettingsOptions {
  /** namespace the UI opens first */
  namespace?: string;
  /** a codec server (https://docs.temporal.io/production-deployment/data-encryption) the browser decodes payloads with */
  codecEndpoint?: string;
}

function uiPackageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(projectRoot(), 'ui', 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    return pkg.dependencies?.['@temporalio/ui'] ?? '2.38.0';
  } catch {
    return '2.38.0';
  }
}

export function uiSettings(opts: UiSettingsOptions): Record<string, unknown> {
  return {
    Auth: { Enabled: false, Options: null },
    BannerText: '',
    DefaultNamespace: opts.namespace ?? 'default',
    ShowTemporalSystemNamespace: false,
    FeedbackURL: '',
    NotifyOnNewVersion: false,
    Codec: {
      Endpoint: opts.codecEndpoint ?? '',
      PassAccessToken: false,
      IncludeCredentials: false,
      DefaultErrorMessage: '',
      DefaultErrorLink: '',
    },
    Version: uiPackageVersion(),
    DisableWriteActions: false,
    WorkflowTerminateDisabled: false,
    WorkflowCancelDisabled: false,
    WorkflowSignalDisabled: false,
    WorkflowUpdateDisabled: false,
    // No reset on the embedded server: the UI's Reset button is disabled, saying resets are not enabled.
    WorkflowResetDisabled: true,
    // The embedded server has no batch operations: the UI offers none rather than failing them.
    BatchActionsDisabled: true,
    // The app in ui/ has no start-workflow form (it would bring the Monaco editor): start from the CLI or an SDK.
    StartWorkflowDisabled: true,
    HideWorkflowQueryErrors: false,
    RefreshWorkflowCountsDisabled: false,
  };
}
