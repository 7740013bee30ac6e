import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { ErrorBoundary } from "./components/ErrorBoundary";
import "./services/devtools";
import { dataset, inference, training } from "./services/workers";
import { useTasks } from "./stores/tasks";
import "./styles.css";

// Errors outside React rendering (event handlers, promises) become notices rather than vanishing.
window.addEventListener("unhandledrejection", (e) => {
  useTasks.getState().notice("error", e.reason instanceof Error ? e.reason.message : String(e.reason));
});
window.addEventListener("error", (e) => {
  useTasks.getState().notice("error", e.message);
});
for (const host of [inference, training, dataset]) host.onCrash((e) => useTasks.getState().notice("error", e.message));

const root = document.getElementById("root");
if (!root) throw new Error("index.html lacks #root");
createRoot(root).render(
  <StrictMode>
    <ErrorBoundary>
      <App />
    </ErrorBoundary>
  </StrictMode>,
);
