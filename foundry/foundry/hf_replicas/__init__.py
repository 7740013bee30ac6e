"""Small random-weight replicas of Hugging Face vision encoders (DINOv2 with and without registers,
ViT / DINO v1, CLIP vision, SigLIP vision) written as hub / transformers.js folders with
reference outputs: `python3 -m foundry hf-fixtures` → tests/fixtures/hf/ (writer.py)."""
