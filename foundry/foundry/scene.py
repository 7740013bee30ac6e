"""The EmojiBench scene vocabulary and renderer.

A prompt picks one value (or "any") per slot: background, position, size. The renderer composes
a subject's RGBA sprite onto a 64×64 background. With `jitter=False` and a fully specified
prompt the result is a pure function of (subject, prompt): the ground truth for evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import IMAGE_SIZE

COLOURS = {
    "red": (220, 60, 60),
    "orange": (240, 150, 50),
    "yellow": (240, 220, 80),
    "green": (70, 170, 90),
    "blue": (60, 110, 220),
    "purple": (140, 80, 200),
    "pink": (240, 140, 190),
    "gray": (128, 128, 128),
    "black": (30, 30, 30),
    "teal": (40, 170, 170),
}
# Textures: two-colour patterns with a fixed phase, so their ground truth is exact.
TEXTURES = {
    "stripes": ((200, 200, 200), (90, 90, 90)),
    "checker": ((235, 215, 170), (150, 100, 60)),
    "dots": ((30, 40, 90), (240, 240, 240)),
}
BACKGROUNDS = list(COLOURS) + list(TEXTURES)
POSITIONS = {
    "center": (32, 32),
    "left": (20, 32),
    "right": (44, 32),
    "top": (32, 20),
    "bottom": (32, 44),
    "top-left": (20, 20),
    "top-right": (44, 20),
    "bottom-left": (20, 44),
    "bottom-right": (44, 44),
}
SIZES = {"small": 20, "medium": 28, "large": 36}
REFERENCE_SIZE = 52
SLOTS = (("background", BACKGROUNDS), ("position", list(POSITIONS)), ("size", list(SIZES)))
NULL_ID = 0


def _vocab() -> tuple[dict[str, int], list[dict]]:
    ids: dict[str, int] = {"<null>": NULL_ID}
    slots = []
    for name, values in SLOTS:
        any_id = len(ids)
        ids[f"{name}:any"] = any_id
        vals = []
        for v in values:
            ids[f"{name}:{v}"] = len(ids)
            vals.append({"id": ids[f"{name}:{v}"], "text": v})
        slots.append({"name": name, "any_id": any_id, "values": vals})
    return ids, slots


VOCAB, SLOT_SPECS = _vocab()
VOCAB_SIZE = len(VOCAB)
PROMPT_LENGTH = len(SLOTS)


@dataclass(frozen=True)
class Prompt:
    """One value per slot; None means "any" (the renderer picks one at random)."""

    background: str | None = None
    position: str | None = None
    size: str | None = None

    def ids(self) -> list[int]:
        return [VOCAB[f"{n}:{getattr(self, n) or 'any'}"] for n, _ in SLOTS]

    def text(self) -> str:
        return ", ".join(f"{n} {getattr(self, n) or 'any'}" for n, _ in SLOTS)

    def resolve(self, rng: np.random.Generator) -> Prompt:
        return Prompt(*(getattr(self, n) or vals[rng.integers(len(vals))] for n, vals in SLOTS))

    @property
    def fully_specified(self) -> bool:
        return all(getattr(self, n) is not None for n, _ in SLOTS)


def background_image(name: str, colour_jitter: np.ndarray | None = None) -> np.ndarray:
    """64×64×3 float32 in [0,1]."""
    n = IMAGE_SIZE
    yy, xx = np.mgrid[0:n, 0:n]
    if name in COLOURS:
        img = np.empty((n, n, 3), np.float32)
        img[:] = COLOURS[name]
    else:
        a, b = (np.array(c, np.float32) for c in TEXTURES[name])
        if name == "stripes":
            mask = ((xx + yy) // 6) % 2 == 0
        elif name == "checker":
            mask = ((xx // 8) + (yy // 8)) % 2 == 0
        else:  # dots on an 8-pixel lattice
            mask = ((xx % 8 - 3.5) ** 2 + (yy % 8 - 3.5) ** 2) > 5.0
        img = np.where(mask[..., None], a, b).astype(np.float32)
    if colour_jitter is not None:
        img = img + colour_jitter
    return np.clip(img / 255.0, 0.0, 1.0)


def composite(bg: np.ndarray, sprite: np.ndarray, cx: int, cy: int) -> np.ndarray:
    """Alpha-composite an s×s×4 sprite (float [0,1], straight alpha) centred at (cx, cy)."""
    out = bg.copy()
    s = sprite.shape[0]
    x0, y0 = cx - s // 2, cy - s // 2
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    dx1, dy1 = min(IMAGE_SIZE, x0 + s), min(IMAGE_SIZE, y0 + s)
    if dx1 <= dx0 or dy1 <= dy0:
        return out
    sp = sprite[sy0 : sy0 + dy1 - dy0, sx0 : sx0 + dx1 - dx0]
    a = sp[..., 3:4]
    out[dy0:dy1, dx0:dx1] = sp[..., :3] * a + out[dy0:dy1, dx0:dx1] * (1 - a)
    return out


@dataclass(frozen=True)
class Layout:
    """Where a rendered subject ended up: for ground-truth metrics."""

    background: str
    position: str
    size: str
    cx: int
    cy: int
    px: int  # sprite side in pixels


def layout(prompt: Prompt, rng: np.random.Generator | None, jitter: bool) -> Layout:
    """Resolve "any" slots (needs rng) and apply ±2 px position/size jitter when asked."""
    p = prompt if prompt.fully_specified else prompt.resolve(rng)
    cx, cy = POSITIONS[p.position]
    px = SIZES[p.size]
    if jitter:
        cx += int(rng.integers(-2, 3))
        cy += int(rng.integers(-2, 3))
        px += int(rng.integers(-2, 3))
    return Layout(p.background, p.position, p.size, cx, cy, px)


def render(sprites, subject: int, prompt: Prompt, rng: np.random.Generator | None = None, jitter: bool = False) -> tuple[np.ndarray, Layout]:
    """Render a scene. `sprites(subject, px)` returns the subject's px×px×4 float sprite."""
    lay = layout(prompt, rng, jitter)
    cj = rng.uniform(-6, 6, size=3).astype(np.float32) if jitter else None
    bg = background_image(lay.background, cj)
    return composite(bg, sprites(subject, lay.px), lay.cx, lay.cy), lay


def subject_alpha(sprites, subject: int, lay: Layout) -> np.ndarray:
    """64×64 float32 coverage of the subject in a scene with this layout (its alpha, composited)."""
    sprite = sprites(subject, lay.px)
    white = np.concatenate([np.ones_like(sprite[..., :3]), sprite[..., 3:4]], axis=-1)
    return composite(np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.float32), white, lay.cx, lay.cy)[..., 0]


def reference(sprites, subject: int) -> np.ndarray:
    """The reference image: the subject centred on white."""
    white = np.ones((IMAGE_SIZE, IMAGE_SIZE, 3), np.float32)
    return composite(white, sprites(subject, REFERENCE_SIZE), IMAGE_SIZE // 2, IMAGE_SIZE // 2)


# Two-subject scenes (multi-subject personalization): subjects A and B at the two positions a
# layout names. B is composited after A, so where the sprites overlap B is in front, and A's mask
# is what of A stays visible.
PAIR_LAYOUTS = {
    "A left, B right": ("left", "right"),
    "A right, B left": ("right", "left"),
    "A top, B bottom": ("top", "bottom"),
    "A bottom, B top": ("bottom", "top"),
}
PAIR_SLOTS = (("background", BACKGROUNDS), ("layout", list(PAIR_LAYOUTS)), ("size", list(SIZES)))
# Layout ids follow the single-subject vocabulary, so a denoiser grown for two references keeps
# every id it knew (VOCAB_SIZE + PAIR_VOCAB rows in its prompt tables).
PAIR_IDS = {name: VOCAB_SIZE + i for i, name in enumerate(PAIR_LAYOUTS)}
PAIR_VOCAB = len(PAIR_IDS)
# The denoiser takes the references in reading order of where they go: the subject placed left
# or top first. Reference k's tokens carry ref_embed[k], so "first" means one screen region for
# every layout of an orientation; in A/B order a reference's index says nothing about its place,
# the gradients of opposite layouts cancel, and the embedding does not learn (cpu-multi, 2,400
# steps: ‖ref_embed‖ ≈ 0.3, identities mixed).
PAIR_FIRST = {name: "A" if pa in ("left", "top") else "B" for name, (pa, _) in PAIR_LAYOUTS.items()}


@dataclass(frozen=True)
class PairPrompt:
    """A two-subject scene: background, layout and one size for both; None means "any"."""

    background: str | None = None
    layout: str | None = None
    size: str | None = None

    def resolve(self, rng: np.random.Generator) -> PairPrompt:
        return PairPrompt(*(getattr(self, n) or vals[rng.integers(len(vals))] for n, vals in PAIR_SLOTS))

    @property
    def fully_specified(self) -> bool:
        return all(getattr(self, n) is not None for n, _ in PAIR_SLOTS)

    def ids(self) -> list[int]:
        """[background, layout, size] ids: the layout takes the position slot, with its own id."""
        ids = Prompt(self.background, None, self.size).ids()
        ids[1] = PAIR_IDS[self.layout]
        return ids

    def reference_order(self) -> tuple[int, int]:
        """Which of (A, B) = (0, 1) the denoiser's references 0 and 1 are (PAIR_FIRST)."""
        return (0, 1) if PAIR_FIRST[self.layout] == "A" else (1, 0)

    def subject_prompts(self) -> tuple[Prompt, Prompt]:
        """A's and B's single-subject prompts (same background and size, the layout's positions)."""
        pa, pb = PAIR_LAYOUTS[self.layout]
        return Prompt(self.background, pa, self.size), Prompt(self.background, pb, self.size)


def render_pair(sprites, a: int, b: int, prompt: PairPrompt, rng: np.random.Generator | None = None, jitter: bool = False):
    """Render a two-subject scene: the image (64×64×3), each subject's visible coverage
    (2×64×64: A's alpha where B does not cover it, then B's) and the two layouts."""
    p = prompt if prompt.fully_specified else prompt.resolve(rng)
    pa, pb = p.subject_prompts()
    la, lb = layout(pa, rng, jitter), layout(pb, rng, jitter)
    cj = rng.uniform(-6, 6, size=3).astype(np.float32) if jitter else None
    img = composite(composite(background_image(p.background, cj), sprites(a, la.px), la.cx, la.cy), sprites(b, lb.px), lb.cx, lb.cy)
    alpha_b = subject_alpha(sprites, b, lb)
    masks = np.stack([subject_alpha(sprites, a, la) * (1 - alpha_b), alpha_b])
    return img, masks, (la, lb)


# The foundry eval's items (evaluate.py, evaluate_pairs.py; the scene kit lists them for the studio).
SAMPLE_SEED = 1234
PROMPTS_PER_SUBJECT = 2


def eval_prompts(n_subjects: int) -> list[tuple[int, Prompt]]:
    rng = np.random.default_rng((SAMPLE_SEED, 2))
    return [(s, Prompt().resolve(rng)) for s in range(n_subjects) for _ in range(PROMPTS_PER_SUBJECT)]


def eval_pairs(n_subjects: int) -> list[tuple[int, int, PairPrompt]]:
    """Two-subject evaluation: disjoint pairs of subjects (0, 1), (2, 3)…, each with
    PROMPTS_PER_SUBJECT fully specified pair prompts."""
    rng = np.random.default_rng((SAMPLE_SEED, 3))
    return [(2 * k, 2 * k + 1, PairPrompt().resolve(rng)) for k in range(n_subjects // 2) for _ in range(PROMPTS_PER_SUBJECT)]
