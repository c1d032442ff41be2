import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const actors = ['collector', 'anomaly-detector', 'predictive-analyzer', 'alert-manager', 'notifier', 'automation'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Actors talk only through messages: no actor may import another actor's folder.
  ...actors.map((actor) => ({
    files: [`src/actors/${actor}/**/*.ts`],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: actors.filter((a) => a !== actor).map((a) => ({ group: [`**/actors/${a}/**`, `**/actors/${a}`], message: 'Actors talk only through bus messages.' })),
      }],
    },
  })),
);
