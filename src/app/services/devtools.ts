/**
 * `window.patchdpo`: the worker hosts and the callback wrapper, so a researcher can script the
 * studio from DevTools (e.g. `patchdpo.inference.call((api) => api.generate(...))`) and e2e tests
 * can drive worker requests the UI does not offer, such as generation from fixed initial noise.
 */
import { callback, dataset, inference, training } from "./workers";

declare global {
  interface Window {
    patchdpo?: {
      inference: typeof inference;
      training: typeof training;
      dataset: typeof dataset;
      callback: typeof callback;
    };
  }
}

window.patchdpo = { inference, training, dataset, callback };
