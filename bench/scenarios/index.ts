/** Every benchmark scenario by name; later issues add theirs here (see DESIGN.md §7). */
import type { Scenario } from "../harness";
import { engine } from "./engine";
import { enhance } from "./enhance";
import { generation } from "./generation";
import { load } from "./load";
import { paper } from "./paper";
import { quality } from "./quality";
import { scaleout } from "./scaleout";
import { soak } from "./soak";
import { training } from "./training";

export const scenarios: Record<string, Scenario> = {
  load,
  quality,
  engine,
  generation,
  training,
  paper,
  scaleout,
  soak,
  enhance,
};
