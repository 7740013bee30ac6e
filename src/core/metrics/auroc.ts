/**
 * Area under the ROC curve via the Mann–Whitney U statistic: the probability that a random
 * positive scores higher than a random negative, counting ties as one half (average ranks).
 */
export function auroc(scores: ArrayLike<number>, labels: ArrayLike<boolean>): number {
  const n = scores.length;
  if (labels.length !== n) throw new RangeError(`${n} scores but ${labels.length} labels`);
  const order = Array.from({ length: n }, (_, i) => i);
  for (const i of order) if (Number.isNaN(scores[i])) throw new RangeError(`score ${i} is NaN`);
  order.sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && scores[order[end + 1]] === scores[order[start]]) end++;
    const averageRank = (start + end) / 2 + 1; // ranks are 1-based
    for (let k = start; k <= end; k++) {
      if (labels[order[k]]) {
        positives++;
        rankSum += averageRank;
      }
    }
    start = end + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) throw new RangeError("AUROC needs at least one positive and one negative");
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}
