/**
 * The architecture, enforced (npm run lint): no import cycles, and no import
 * from a lower layer into a higher one. Layers, lowest first; a module may
 * import from its own layer and the ones below it.
 */
const LAYERS = [
  { name: 'contract', path: '^contract/' },
  { name: 'core utilities', path: '^main/core/[^/]+\\.ts$' },
  { name: 'ports and storage', path: '^main/core/(ports|storage)/' },
  { name: 'transfer', path: '^main/core/transfer/' },
  { name: 'devices, clouds, labels', path: '^main/core/(devices|cloud|labels|operator)/' },
  { name: 'config', path: '^main/core/config/' },
  { name: 'simulator', path: '^main/core/simulator/' },
  { name: 'engine', path: '^main/core/engine/' },
  { name: 'desk', path: '^main/core/desk/' },
  { name: 'serve', path: '^main/core/serve/' },
  { name: 'entry points', path: '^(main/cli|main/electron|bin)/' },
];

const upward = LAYERS.flatMap((layer, index) =>
  LAYERS.slice(index + 1).map((higher) => ({
    name: `no-upward-${layer.name.replace(/\W+/g, '-')}-to-${higher.name.replace(/\W+/g, '-')}`,
    comment: `${layer.name} sits below ${higher.name}: it may not import from it`,
    severity: 'error',
    from: { path: layer.path },
    to: { path: higher.path },
  })),
);

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'Import cycles make modules impossible to read or test alone', severity: 'error', from: {}, to: { circular: true } },
    ...upward,
    {
      name: 'devices-and-clouds-apart',
      comment: 'Device drivers and cloud adapters do not know each other; the engine joins them',
      severity: 'error',
      from: { path: '^main/core/devices/' },
      to: { path: '^main/core/cloud/' },
    },
    {
      name: 'clouds-and-devices-apart',
      comment: 'Device drivers and cloud adapters do not know each other; the engine joins them',
      severity: 'error',
      from: { path: '^main/core/cloud/' },
      to: { path: '^main/core/devices/' },
    },
    {
      name: 'screens-see-only-the-contract',
      comment: 'The renderer and the preload bridge talk to the station only through the contract',
      severity: 'error',
      from: { path: '^(renderer|preload)/' },
      to: { path: '^(main|bench|test)/' },
    },
    {
      name: 'core-never-imports-electron',
      comment: 'The core runs under plain Node (tests, CLI, browser dashboard)',
      severity: 'error',
      from: { path: '^(main/core|main/cli|contract|renderer)/' },
      to: { path: '^node_modules/electron/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(out|dist|release|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js'] },
  },
};
