import { differences, SETTING_NAMES, settingFinding } from '../../core/settings-diff.js';
import type { Check } from './check.js';

/** What the application sees after cutover: global settings that change results (settings-diff.ts). */
export const settingsMatch: Check = {
  ids: SETTING_NAMES.map((name) => `setting-${name}`),
  concern: 'settings',
  run: ({ settings, config }) =>
    settings ? differences(settings.source, settings.target).map((d) => settingFinding(d, config.acceptSettingsDifferences)) : [],
};
