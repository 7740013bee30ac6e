"""PatchDPO Studio foundry: trains and exports the built-in EmojiBench-64 model pack."""
