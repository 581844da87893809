import type { LockPackage } from './lock-file.js';

/**
 * Lock entries for pint and its pure-Python dependencies, which the Pyodide 0.26.4
 * distribution does not contain. typing-extensions, which they also need, comes from
 * Pyodide's own lock file.
 *
 * NOTE: these sha256 values were not computed on this machine, because PyPI is
 * unreachable here. Each value and address is the one that independent published lock
 * files (a Homebrew formula, project lock files) record for that PyPI file. The cache
 * verifies every download against them, so a wrong value makes the download fail, never
 * lets a different file in.
 */
export const SUPPLEMENTARY_LOCK_PACKAGES: Record<string, LockPackage> = {
  pint: {
    name: 'pint',
    version: '0.25.3',
    file_name: 'pint-0.25.3-py3-none-any.whl',
    install_dir: 'site',
    sha256: '27eb25143bd5de9fcc4d5a4b484f16faf6b4615aa93ece6b3373a8c1a3c1b97d',
    package_type: 'package',
    imports: ['pint'],
    depends: ['flexcache', 'flexparser', 'platformdirs', 'typing-extensions'],
    shared_library: false,
    url: 'https://files.pythonhosted.org/packages/1b/dd/a9fe6a0a09512da23951c68bf36466aeecd89def3183dc095edbc807ddc5/pint-0.25.3-py3-none-any.whl',
  },
  flexcache: {
    name: 'flexcache',
    version: '0.3',
    file_name: 'flexcache-0.3-py3-none-any.whl',
    install_dir: 'site',
    sha256: 'd43c9fea82336af6e0115e308d9d33a185390b8346a017564611f1466dcd2e32',
    package_type: 'package',
    imports: ['flexcache'],
    depends: ['typing-extensions'],
    shared_library: false,
    url: 'https://files.pythonhosted.org/packages/27/cd/c883e1a7c447479d6e13985565080e3fea88ab5a107c21684c813dba1875/flexcache-0.3-py3-none-any.whl',
  },
  flexparser: {
    name: 'flexparser',
    version: '0.4',
    file_name: 'flexparser-0.4-py3-none-any.whl',
    install_dir: 'site',
    sha256: '3738b456192dcb3e15620f324c447721023c0293f6af9955b481e91d00179846',
    package_type: 'package',
    imports: ['flexparser'],
    depends: ['typing-extensions'],
    shared_library: false,
    url: 'https://files.pythonhosted.org/packages/fe/5e/3be305568fe5f34448807976dc82fc151d76c3e0e03958f34770286278c1/flexparser-0.4-py3-none-any.whl',
  },
  platformdirs: {
    name: 'platformdirs',
    version: '4.3.6',
    file_name: 'platformdirs-4.3.6-py3-none-any.whl',
    install_dir: 'site',
    sha256: '73e575e1408ab8103900836b97580d5307456908a03e92031bab39e4554cc3fb',
    package_type: 'package',
    imports: ['platformdirs'],
    depends: [],
    shared_library: false,
    url: 'https://files.pythonhosted.org/packages/3c/a6/bc1012356d8ece4d66dd75c4b9fc6c1f6650ddd5991e421177d9f8f671be/platformdirs-4.3.6-py3-none-any.whl',
  },
};
