/**
 * Loads an ES-module-only package (hyparquet, hyparquet-writer) from this CommonJS project. Under `module:
 * commonjs` TypeScript compiles `import()` to `require()`, which cannot load ES modules on Node 20, so the call is
 * kept as a real dynamic import; where that is unavailable (vitest runs modules in a VM without an import
 * callback) the caller's own `import()` expression, which that loader handles, is used instead.
 */
const dynamicImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

export async function importEsm<T>(specifier: string, fallback: () => Promise<T>): Promise<T> {
  try {
    return (await dynamicImport(specifier)) as T;
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING') return fallback();
    throw err;
  }
}

export const loadParquetWriter = () => importEsm<typeof import('hyparquet-writer')>('hyparquet-writer', () => import('hyparquet-writer'));
export const loadParquetReader = () => importEsm<typeof import('hyparquet')>('hyparquet', () => import('hyparquet'));
