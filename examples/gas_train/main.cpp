// gas-train: trains a GNN with GNNAutoScale (or full-batch) on any dataset and reports the reference's figures.
//
//   gas-train [--dataset SPEC] [--model gcn|gat|appnp|gcnii|gin|pna|pna_jk] [--preset paper] [--mode gas|full]
//             [--runs N] [--seed S] [--json FILE] [--quiet] [hyperparameter flags]
//
// Without --dataset it trains on the built-in SBM graph (10,000 nodes, 8 classes). --preset paper applies the
// reference's hyperparameters for Cora, CiteSeer and PubMed (config.hpp); flags override them. Each run trains
// a fresh model (seed + r) and keeps the test metric at its best validation epoch; the summary is the mean and
// sample standard deviation over runs, in percent. Exit status: 0 on success, 2 for a configuration error (a bad
// command line, or a dataset that cannot be trained: no labels, no split), 1 for any other error.

// gas-train-cuda (main_cuda.cu) is the same program with the models on the GPU.

#include <gas/gas.hpp>

#include "app.hpp"

int main(int argc, char** argv) { return gas_train::main_on<gas::host>(argc, argv); }
