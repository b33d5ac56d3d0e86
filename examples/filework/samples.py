"""Sample input files: sales exports, web server logs, notes and inventories.

The files are generated from a seed, so every run produces the same bytes and
the same checksums, and they compress the way real files of their kind do.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

REGIONS = ["north", "south", "east", "west", "central"]
PRODUCTS = ["kettle", "toaster", "blender", "grinder", "scale", "timer"]
PATHS = ["/", "/shop", "/shop/kettle", "/cart", "/checkout", "/help", "/api/stock"]
AGENTS = ["Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (Macintosh)", "curl/8.5.0"]
WORDS = ["order", "stock", "shelf", "supplier", "delivery", "invoice", "refund"]
WORDS += ["warehouse", "label", "parcel", "batch", "audit", "price", "season"]


def sales_csv(rng: random.Random, number: int) -> str:
    """A quarter's sales export: one row per sale."""
    start = date(2024, 1, 1) + timedelta(days=91 * (number % 4))
    lines = ["date,region,product,units,unit_price"]
    for _ in range(rng.randint(1500, 3000)):
        day = start + timedelta(days=rng.randrange(91))
        price = rng.choice([19.99, 24.5, 39.0, 49.95, 89.0])
        lines.append(
            f"{day.isoformat()},{rng.choice(REGIONS)},{rng.choice(PRODUCTS)},"
            f"{rng.randint(1, 12)},{price:.2f}"
        )
    return "\n".join(lines) + "\n"


def access_log(rng: random.Random, number: int) -> str:
    """A day of web server access log lines, from documentation addresses."""
    moment = datetime(2024, 6, 1) + timedelta(days=number)
    lines = []
    for _ in range(rng.randint(2000, 4000)):
        moment += timedelta(seconds=rng.randint(1, 40))
        status = rng.choices([200, 304, 404, 500], weights=[85, 10, 4, 1])[0]
        lines.append(
            f"192.0.2.{rng.randint(1, 254)} - - [{moment:%d/%b/%Y:%H:%M:%S} +0000] "
            f'"GET {rng.choice(PATHS)} HTTP/1.1" {status} {rng.randint(200, 9000)} '
            f'"-" "{rng.choice(AGENTS)}"'
        )
    return "\n".join(lines) + "\n"


def notes_md(rng: random.Random, number: int) -> str:
    """Meeting notes in Markdown."""
    parts = [f"# Stock meeting {number + 1}\n"]
    for section in range(rng.randint(4, 8)):
        parts.append(f"\n## Item {section + 1}: {rng.choice(WORDS)}\n\n")
        for _ in range(rng.randint(3, 9)):
            sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 16)))
            parts.append(f"- {sentence.capitalize()}.\n")
    return "".join(parts)


def inventory_json(rng: random.Random, number: int) -> str:
    """A warehouse inventory snapshot."""
    items = [
        {
            "sku": f"SKU-{number:02d}-{index:04d}",
            "product": rng.choice(PRODUCTS),
            "on_hand": rng.randint(0, 500),
            "bin": f"{rng.choice('ABCDEF')}{rng.randint(1, 40):02d}",
        }
        for index in range(rng.randint(300, 700))
    ]
    return json.dumps({"warehouse": number + 1, "items": items}, indent=2) + "\n"


KINDS: list[tuple[str, Callable[[random.Random, int], str]]] = [
    ("sales-q{n}.csv", sales_csv),
    ("access-{n}.log", access_log),
    ("notes-{n}.md", notes_md),
    ("inventory-{n}.json", inventory_json),
]


def write_samples(folder: Path, count: int, seed: int = 2024) -> list[Path]:
    """Write ``count`` sample files into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for index in range(count):
        pattern, make = KINDS[index % len(KINDS)]
        number = index // len(KINDS)
        path = folder / pattern.format(n=number + 1)
        path.write_text(make(rng, number), encoding="utf-8")
        paths.append(path)
    return paths
