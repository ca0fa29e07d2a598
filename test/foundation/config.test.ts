import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../common/config';

describe('configuration from the environment', () => {
  it('defaults to the embedded server and the emulator when nothing is set', () => {
    const c = loadConfig({});
    expect(c.TEMPORAL_ADDRESS).toBeUndefined();
    expect(c.TEMPORAL_NAMESPACE).toBe('default');
    expect(c.MLOPS_AWS).toBe('emulator');
    expect(c.AWS_REGION).toBe('us-east-1');
    expect([c.MLOPS_TEMPORAL_PORT, c.MLOPS_EMULATOR_PORT, c.MLOPS_GATEWAY_PORT]).toEqual([7233, 4566, 8088]);
    expect(c.MLOPS_DATA_DIR).toBe(join(process.cwd(), '.mlops'));
  });

  it('accepts a full real-cluster configuration', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-cfg-'));
    writeFileSync(join(dir, 'c.pem'), 'cert');
    writeFileSync(join(dir, 'k.pem'), 'key');
    const c = loadConfig({
      TEMPORAL_ADDRESS: 'ns.abc.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ml-platform.abc',
      TEMPORAL_TLS_CERT: join(dir, 'c.pem'),
      TEMPORAL_TLS_KEY: join(dir, 'k.pem'),
      MLOPS_AWS: 'aws',
      AWS_REGION: 'eu-west-1',
      MLOPS_GATEWAY_PORT: '9000',
    });
    expect(c.TEMPORAL_ADDRESS).toBe('ns.abc.tmprl.cloud:7233');
    expect(c.MLOPS_AWS).toBe('aws');
    expect(c.MLOPS_GATEWAY_PORT).toBe(9000);
  });

  it.each([
    ['MLOPS_AWS', 'gcp', /MLOPS_AWS accepts "emulator" \(default\) or "aws"/],
    ['MLOPS_TEMPORAL_PORT', '70000', /MLOPS_TEMPORAL_PORT accepts a TCP port number/],
    ['MLOPS_EMULATOR_PORT', 'abc', /MLOPS_EMULATOR_PORT accepts a TCP port number/],
    ['MLOPS_GATEWAY_PORT', '0', /MLOPS_GATEWAY_PORT accepts a TCP port number/],
    ['TEMPORAL_ADDRESS', 'http://localhost', /TEMPORAL_ADDRESS accepts host:port/],
    ['TEMPORAL_NAMESPACE', 'bad namespace!', /TEMPORAL_NAMESPACE accepts a namespace name/],
    ['TEMPORAL_TLS_CERT', '/no/such/file.pem', /TEMPORAL_TLS_CERT accepts the path of a readable PEM/],
    ['AWS_REGION', 'Mars', /AWS_REGION accepts an AWS region name/],
    ['AWS_ENDPOINT_URL', 'localhost:4566', /AWS_ENDPOINT_URL accepts an http/],
    ['MLOPS_LOG_LEVEL', 'loud', /MLOPS_LOG_LEVEL accepts one of/],
    ['MLOPS_EMULATOR_TIME_SCALE', '0', /MLOPS_EMULATOR_TIME_SCALE accepts a number above 0/],
    ['MLOPS_DATA_DIR', __filename, /MLOPS_DATA_DIR accepts a directory/],
  ])('rejects %s=%s naming the variable and what it accepts', (variable, value, message) => {
    let error: unknown;
    try {
      loadConfig({ [variable]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message.split('\n')).toHaveLength(1);
  });

  it('requires the TLS certificate and key together', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-cfg-'));
    writeFileSync(join(dir, 'c.pem'), 'cert');
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: join(dir, 'c.pem') })).toThrow(/TEMPORAL_TLS_KEY/);
  });
});
