// gas-train-cuda: gas-train (main.cpp) with the models, their optimizer and their histories' traffic on the GPU
// (gas::cuda::device); the same flags, output and exit statuses, plus --history-store and --history-io: the histories
// live in a GPU store (zero-copy pinned memory by default) and move through the overlapped pipeline.

#include <gas/gas.hpp>

#include "app.hpp"

int main(int argc, char** argv) { return gas_train::main_on<gas::cuda::device>(argc, argv); }
