"""CLI for the recommender's hubness: ``hubness``, ``hub-attack`` and the ``embeddings`` build job.

    python -m xai hubness --embedding style_audio --k 10 --reduction mp --json
    python -m xai hub-attack --embedding style_audio --defence mp --n-songs 40 --json
    python -m xai hub-attack --embedding style_audio --defence all --n-songs 40 --out assets/hubness/hub_attack.json
    python -m xai embeddings --build
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from xai.errors import ParameterError

ATTACK_RESULT = "hub_attack.json"


def _hubness(args) -> dict:
    from xai.recommender import embeddings, hubness

    emb = embeddings.load(args.embedding)
    rep = hubness.analyse(emb.vectors, emb.labels, args.k, args.reduction, candidates=args.candidates,
                          hub_size=args.hub_size, approximate=True if args.approximate else None)
    d = rep.to_dict()
    d["embedding"] = emb.name
    d["hubs"] = [{**emb.describe(i), "k_occurrence": nk} for i, nk in rep.hubs(args.top)]
    return d


def _show_hubness(r: dict) -> None:
    prec = "n/a" if r["retrieval_precision"] is None else f"{r['retrieval_precision']:.3f}"
    acc = "n/a" if r["knn_accuracy"] is None else f"{r['knn_accuracy']:.3f}"
    print(f"{r['embedding']}: n={r['n']} k={r['k']} reduction={r['reduction']} ({r['method']})")
    print(f"  skewness {r['skewness']:.2f}, hub occurrence {r['hub_occurrence']:.3f}, anti-hub occurrence "
          f"{r['antihub_occurrence']:.3f}, Robin Hood {r['robinhood']:.3f}, Gini {r['gini']:.3f}")
    print(f"  same-class precision@k {prec}, k-NN accuracy {acc}")
    if r["note"]:
        print(f"  note: {r['note']}")
    for h in r["hubs"]:
        extra = f", {h['instrument']}" if "instrument" in h else f", bars {h.get('start_bar')}-{h.get('end_bar')}"
        print(f"  hub item {h['item']}: N_k={h['k_occurrence']} ({h['class']}{extra}, {h['piece']})")


def _hub_attack(args) -> dict:
    from models import registry
    from xai.recommender import embeddings, hub_attack

    defences = hub_attack.DEFENCES if args.defence == "all" else (args.defence,)
    emb = embeddings.load(args.embedding)
    if emb.collection != "audio":
        raise ParameterError(f"The embedding '{emb.name}' is of score excerpts; the hub attack perturbs recordings, "
                             f"so choose one of: {', '.join(n for n in embeddings.names() if n != emb.name)}.")
    opts = hub_attack.AttackOptions(eps=args.eps, steps=args.steps, hub_size=args.hub_size, adaptive=args.adaptive,
                                    lr=args.lr)
    res = hub_attack.run_job(emb, registry.load(emb.name).net, defences, n_songs=args.n_songs, seed=args.seed,
                             options=opts, progress=lambda m: print(m, file=sys.stderr))
    res["command"] = ("python -m xai hub-attack " + " ".join(
        [f"--embedding {args.embedding}", f"--defence {args.defence}", f"--n-songs {args.n_songs}",
         f"--seed {args.seed}", f"--eps {args.eps}", f"--steps {args.steps}", f"--lr {args.lr}", f"--hub-size {args.hub_size}"]
        + (["--adaptive"] if args.adaptive else [])))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(res, indent=1))
    out = {"embedding": res["embedding"], "n_songs": args.n_songs, "seconds": res["seconds"],
           "options": res["options"], "paper": res["paper"]}
    for d, v in res["defences"].items():
        out[d] = v["summary"]
    if args.defence != "all":
        out.update(res["defences"][args.defence]["summary"])
    return out


def _show_attack(r: dict) -> None:
    print(f"hub attack on {r['embedding']} ({r['n_songs']} songs, eps {r['options']['eps']}, "
          f"hub = N_{r['options']['k']} >= {r['options']['hub_size'] * r['options']['k']:g}; {r['seconds']:.0f} s)")
    for d in ("none", "mp"):
        if d not in r:
            continue
        s = r[d]
        snr = s["snr_db_successful"]
        rate = "n/a" if s["success_rate"] is None else f"{s['success_rate']:.0%}"
        print(f"  defence {d:4s}: success {rate} ({s['successes']} of {s['attacked']}; {s['already_hubs']} already "
              f"hubs)" + (f", SNR of successes {snr['mean']:.1f} +- {snr['sd']:.1f} dB" if snr else ""))
    p = r["paper"]
    print(f"  paper: success {p['success_rate_undefended']} undefended, {p['success_rate_with_mp']} with MP; "
          f"{p['snr']}")


def _embeddings(args) -> dict:
    from xai.recommender import embeddings

    if args.build:
        return embeddings.build(Path(args.out) if args.out else None, progress=lambda m: print(m, file=sys.stderr))
    return embeddings.parameters()


def _show_embeddings(r: dict) -> None:
    for e in r["embeddings"]:
        print(f"{e['name']}: {e['n']} {e['collection']} items, d={e['d']} ({e['layer']})")


def add_commands(sub) -> None:
    from xai.recommender import hubness

    p = sub.add_parser("hubness", help="hubness of the k-NN recommender in a shipped embedding, with a reduction")
    p.add_argument("--embedding", default="style_audio")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--reduction", default="none", choices=hubness.REDUCTIONS)
    p.add_argument("--candidates", type=int, default=hubness.DEFAULT_CANDIDATES,
                   help="candidate neighbours per item that a reduction re-ranks")
    p.add_argument("--hub-size", type=float, default=hubness.HUB_SIZE, help="hub: N_k >= hub-size * k")
    p.add_argument("--approximate", action="store_true", help="use the approximate index (faiss HNSW)")
    p.add_argument("--top", type=int, default=5, help="how many of the biggest hubs to list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_hubness, show=_show_hubness)

    p = sub.add_parser("hub-attack", help="perturb songs so they become hubs; success rate without / with MP")
    p.add_argument("--embedding", default="style_audio")
    p.add_argument("--defence", default="none", choices=("none", "mp", "all"))
    p.add_argument("--n-songs", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--eps", type=float, default=0.003, help="L-infinity bound on the waveform perturbation")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--lr", type=float, default=0.0005, help="sign-Adam step size (full scale = 1)")
    p.add_argument("--hub-size", type=float, default=5.0, help="success: N_5 >= hub-size * 5")
    p.add_argument("--adaptive", action="store_true",
                   help="against MP: attack through a smooth Mutual Proximity surrogate (adaptive attacker)")
    p.add_argument("--out", default=None, help="write the full result (every song, parameters) as JSON here")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_hub_attack, show=_show_attack)

    p = sub.add_parser("embeddings", help="the recommender's shipped embeddings (--build: recompute them)")
    p.add_argument("--build", action="store_true", help="embed the audio data set and score excerpts (needs caches)")
    p.add_argument("--out", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_embeddings, show=_show_embeddings)
