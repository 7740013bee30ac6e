import { useEffect } from "react";
import { CompareTab } from "./components/compare/CompareTab";
import { DatasetTab } from "./components/dataset/DatasetTab";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { GenerateTab } from "./components/generate/GenerateTab";
import { Header } from "./components/Header";
import { InspectTab } from "./components/inspect/InspectTab";
import { ModelsTab } from "./components/ModelsTab";
import { TaskArea } from "./components/TaskArea";
import { TrainTab } from "./components/TrainTab";
import { useCompute } from "./stores/compute";
import { useEncoders } from "./stores/encoders";
import { builtinSource, defaultPackId, usePacks } from "./stores/packs";
import { TABS, type TabId, useSettings } from "./stores/settings";
import { useStorage } from "./stores/storage";

const TAB_TITLES: Record<TabId, string> = {
  generate: "Generate",
  inspect: "Inspect",
  dataset: "Dataset",
  train: "Train",
  compare: "Compare",
  models: "Models",
};

function TabPanel({ tab }: { tab: TabId }) {
  switch (tab) {
    case "models":
      return <ModelsTab />;
    case "train":
      return <TrainTab />;
    case "generate":
      return <GenerateTab />;
    case "inspect":
      return <InspectTab />;
    case "dataset":
      return <DatasetTab />;
    case "compare":
      return <CompareTab />;
  }
}

/** Probes the compute backend, lists the cache and opens the built-in pack once per page load. */
function useStartup() {
  useEffect(() => {
    void useCompute.getState().probe();
    void usePacks.getState().refreshCached();
    void useEncoders.getState().refresh();
    void useStorage.getState().init();
    const id = defaultPackId();
    if (id && useSettings.getState().autoLoadBuiltin) void usePacks.getState().load(builtinSource(id));
  }, []);
}

export function App() {
  const { tab, setTab } = useSettings();
  useStartup();
  return (
    <div className="app">
      <Header />
      <div className="tabs" role="tablist">
        {TABS.map((t) => (
          <button
            type="button"
            role="tab"
            key={t}
            id={`tab-${t}`}
            aria-selected={tab === t}
            aria-controls="tab-panel"
            onClick={() => setTab(t)}
          >
            {TAB_TITLES[t]}
          </button>
        ))}
      </div>
      <TaskArea />
      <main id="tab-panel" role="tabpanel" aria-labelledby={`tab-${tab}`}>
        <ErrorBoundary key={tab}>
          <TabPanel tab={tab} />
        </ErrorBoundary>
      </main>
    </div>
  );
}
