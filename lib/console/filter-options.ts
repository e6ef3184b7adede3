// How the console turns the filter vocabulary into a Filter: label names by connlabel.conf, host names by the
// name files (lib/names). lib/conntrack knows neither; it is handed bits and addresses.
import type { ToFilterOptions } from '@/lib/conntrack';
import { labelFilterOptions } from './labels';
import { hostFilterOptions } from './names';

export const consoleFilterOptions = (): ToFilterOptions => ({ ...labelFilterOptions(), ...hostFilterOptions() });
