"""Where a run measured, in one line for every report: Kubernetes, runtime, cgroup mode, feature gates."""

from __future__ import annotations

from typing import Any


def measured_on(where: dict[str, Any]) -> str:
    """ "Measured on Kubernetes v1.34.0 (kubelet v1.34.0), containerd://1.6.20, cgroup v1; 3 alpha
    feature gates on: A, B, C" (what could not be measured said so)."""
    if not where:
        return "Measured on: not recorded"
    unknown = where.get("unknown") or {}
    parts = [f"Kubernetes {where.get('kubernetes')} (kubelet {', '.join(where.get('kubelets') or ['?'])})"]
    parts.append(", ".join(where.get("runtimes") or ["runtime unknown"]))
    parts.append(f"cgroup {where['cgroup']}" if where.get("cgroup") else "cgroup mode not measured")
    gates, stages = where.get("gates"), where.get("stages") or {}
    if gates is None:
        parts.append(f"feature gates not measured ({unknown.get('gates', 'unreadable')})")
    else:
        alpha = sorted(g for g, on in gates.items() if on and stages.get(g) == "ALPHA")
        parts.append(f"{len(alpha)} alpha feature gate(s) on" + (f": {', '.join(alpha)}" if alpha else ""))
    return "Measured on " + "; ".join(parts)
