"""Whose departure it is: the requests a workload loses while Kubernetes keeps what it documents.

A :class:`Leaving` is one old pod's way out of a Service as measured (:mod:`podlife.kube.endpoints`);
a :class:`Finding` is the workload's part, with the mechanism measured and the documented remedy,
reported beside the departures (:mod:`podlife.profiled`) and never counted as one.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Finding:
    """Requests the workload lost although Kubernetes kept what it documents: the workload's part,
    with the mechanism measured (or the statement that none was found) and the documented remedy."""

    observation: str
    measured: str
    mechanism: str  # what the watches showed happening, in order; or why it is not known
    remedy: str

    def line(self) -> str:
        return f"{self.observation}: {self.measured}; {self.mechanism}; remedy: {self.remedy}"


@dataclass(frozen=True)
class Leaving:
    """One old pod's way out of a Service, in seconds on the request loop's clock (None: not seen):
    as podlife's watches saw them (a container's end up to a kubelet relist late), and where requests
    failed, the first of them (the pod no longer answered by then; :mod:`podlife.kube.endpoints`)."""

    pod: str
    deleted_s: float | None
    endpoint_off_s: float | None  # its endpoint no longer ready in any of the Service's slices
    ended_s: dict[str, float] = field(default_factory=dict)  # container -> when the watch saw it end
    failed: int = 0  # requests that failed from its deletion until kube-proxy followed the slice
    first_failed_s: float | None = None

    def line(self) -> str:
        if self.deleted_s is None:
            return f"pod {self.pod}: its deletion was not seen"
        gone, off = self.deleted_s, self.endpoint_off_s
        parts = [f"pod {self.pod}: deleted at {gone:.2f} s"]
        when_off = "not seen going off" if off is None else f"off {off - gone:.2f} s after the deletion"
        if self.failed and self.first_failed_s is not None:
            first = self.first_failed_s
            order = ""
            if off is not None:
                order = f", {off - first:.2f} s before" if first < off else f", {first - off:.2f} s after"
                order += " its endpoint went off (kube-proxy follows within ~1 s)"
            parts.append(
                f"requests failed from {first - gone:.2f} s after the deletion{order}: {self.failed} in all"
            )
        parts.append(f"its endpoint {when_off}")
        parts += [
            f"{c} seen ended {at - gone:.2f} s after the deletion" for c, at in sorted(self.ended_s.items())
        ]
        return "; ".join(parts)
