package models

import (
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive
)

// LogSumExp over the last axis of [N,K] logits → [N], computed stably.
func LogSumExp(logits *Node) *Node {
	mx := StopGradient(ReduceMax(logits, -1))
	return Add(Log(ReduceSum(Exp(Sub(logits, InsertAxes(mx, -1))), -1)), mx)
}

// CrossEntropy of [N,K] logits against [N] integer labels → [N] (nats).
func CrossEntropy(logits, labels *Node) *Node {
	k := logits.Shape().Dimensions[1]
	picked := ReduceSum(Mul(logits, OneHot(labels, k, logits.DType())), -1)
	return Sub(LogSumExp(logits), picked)
}
