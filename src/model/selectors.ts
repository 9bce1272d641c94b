/**
 * Label selectors, node selector terms and taint toleration, as
 * k8s.io/apimachinery/pkg/labels and k8s.io/component-helpers/scheduling/corev1 evaluate them.
 */
import type { LabelSelector } from 'kubernetes-types/meta/v1.js';
import type { NodeSelector, NodeSelectorTerm, NodeSelectorRequirement, Taint, Toleration } from 'kubernetes-types/core/v1.js';

type Labels = Readonly<Record<string, string>> | undefined;

/** metav1.LabelSelectorAsSelector: nil selects nothing, empty selects everything. */
export function matchesLabelSelector(sel: LabelSelector | undefined | null, labels: Labels): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const vals = e.values ?? [];
    switch (e.operator) {
      case 'In':
        if (!has || !vals.includes(l[e.key]!)) return false;
        break;
      case 'NotIn':
        if (has && vals.includes(l[e.key]!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A Service's spec.selector (a plain map): empty or missing selects nothing here. */
export function matchesMapSelector(sel: Labels, labels: Labels): boolean {
  if (!sel || Object.keys(sel).length === 0) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel)) if (l[k] !== v) return false;
  return true;
}

function matchRequirement(r: NodeSelectorRequirement, labels: Record<string, string>, fields: Record<string, string>, isField: boolean): boolean {
  const src = isField ? fields : labels;
  const has = Object.prototype.hasOwnProperty.call(src, r.key);
  const v = src[r.key];
  const vals = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return has && vals.includes(v!);
    case 'NotIn':
      return !has || !vals.includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || vals.length !== 1) return false;
      const a = Number(v);
      const b = Number(vals[0]);
      if (!Number.isInteger(a) || !Number.isInteger(b)) return false;
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** One NodeSelectorTerm: all requirements hold; an empty term matches nothing. */
export function matchesNodeSelectorTerm(term: NodeSelectorTerm, nodeName: string, labels: Labels): boolean {
  const exprs = term.matchExpressions ?? [];
  const fieldExprs = term.matchFields ?? [];
  if (exprs.length === 0 && fieldExprs.length === 0) return false;
  const l = { ...(labels ?? {}) };
  const f = { 'metadata.name': nodeName };
  return exprs.every((r) => matchRequirement(r, l, f, false)) && fieldExprs.every((r) => matchRequirement(r, l, f, true));
}

/** NodeSelector: the terms are ORed. */
export function matchesNodeSelector(sel: NodeSelector | undefined, nodeName: string, labels: Labels): boolean {
  if (!sel) return true;
  return (sel.nodeSelectorTerms ?? []).some((t) => matchesNodeSelectorTerm(t, nodeName, labels));
}

/** v1helper.TolerationsTolerateTaint. */
export function toleratesTaint(tolerations: readonly Toleration[] | undefined, taint: Taint): boolean {
  for (const t of tolerations ?? []) {
    if (t.effect && t.effect !== taint.effect) continue;
    if (t.key === undefined || t.key === '') {
      if (t.operator === 'Exists') return true;
      continue;
    }
    if (t.key !== taint.key) continue;
    const op = t.operator ?? 'Equal';
    if (op === 'Exists') return true;
    if (op === 'Equal' && (t.value ?? '') === (taint.value ?? '')) return true;
  }
  return false;
}
