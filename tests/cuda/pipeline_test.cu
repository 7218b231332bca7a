// The overlapped GPU history pipeline (gas/cuda/models/history_io.cuh) against its synchronous oracle: bit for bit
// for every GPU store and four models, each ordering rule with teeth, the staleness oracle, the steady state
// (no allocation, at most one host wait per step), bad input, and destruction mid-epoch. Under tools/cuda_emu run
// the program in every copy-stream mode (EMU_COPY=lazy|early|late|rand, tools/cuda_emu/run_all.sh with EMU_MODES):
// tools/cuda_emu/check_rules.sh runs the teeth case once per (mode, dropped rule) and checks that each rule bites
// (changes the result or crashes) in at least one mode. Every case needs a GPU and is skipped (not failed) without one.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <gas/gas.hpp>

#include "matches_host_util.hpp"
// Under tools/cuda_emu the force-included shim defines GAS_EMU and declares gas_emu_get_counters().

namespace {

using gas_test::no_gpu;
using gas::cuda::device;
using gas::models::HistoryIO;

const char* copy_mode() {
#ifdef GAS_EMU
  return gas_emu_copy_mode();
#else
  return "gpu";
#endif
}

// The bits of a float vector, so that NaNs compare too.
std::vector<std::uint32_t> bits(std::span<const float> v) {
  std::vector<std::uint32_t> out(v.size());
  if (!v.empty()) std::memcpy(out.data(), v.data(), v.size() * sizeof(float));
  return out;
}

// Everything a run leaves behind, read on the host.
struct Outcome {
  std::vector<double> losses, vals;
  std::vector<std::vector<std::uint32_t>> params, tables;
  std::vector<std::uint32_t> logits;
  std::string error;
};

bool same(const Outcome& a, const Outcome& b) {
  return a.error.empty() && b.error.empty() && a.losses == b.losses && a.vals == b.vals && a.params == b.params &&
         a.tables == b.tables && a.logits == b.logits;
}

template <class Model>
void read_back(Model& model, Outcome& o) {
  for (auto* p : model.parameters()) o.params.push_back(bits(p->value.to_host().values()));
  // Host reads of the stores drain the pipeline themselves (rule 8): no explicit drain here.
  for (auto& h : model.histories()) {
    gas::Tensor<float> t(h.num_nodes(), h.width());
    h.pull_chunk(0, t.view());
    o.tables.push_back(bits(t.values()));
  }
}

gas::Dataset small_sbm(std::uint64_t seed = 3) {
  return gas::gen::sbm({.nodes = 240, .classes = 4, .features = 12, .degree = 6, .homophily = 0.8, .noise = 1.0,
                        .seed = seed});
}

// Three epochs with evaluation through gas::Trainer, then layer-wise inference; `io` picks the path.
template <class Model, class Options, class... Make>
Outcome fit(const gas::Dataset& data, const Options& o, HistoryIO io, Make&&... make) {
  Outcome out;
  try {
    Model model(data.num_nodes(), o, 7, make...);
    const gas::TrainerOptions opts{.batch_size = 2, .epochs = 3, .grad_clip = 1.0, .seed = 5, .history_io = io};
    gas::Trainer<Model, gas::partition::Metis> trainer(model, {.num_parts = 6, .seed = 1}, opts);
    const auto r = trainer.fit(data);
    for (const auto& e : r.epochs) {
      out.losses.push_back(e.loss);
      out.vals.push_back(e.val);
    }
    read_back(model, out);
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

template <class Model, class Options, class... Make>
void check_bit_for_bit(const char* what, const gas::Dataset& data, const Options& o, Make&&... make) {
  INFO(what << " in copy mode " << copy_mode());
  const Outcome sync = fit<Model>(data, o, HistoryIO::sync, make...);
  const Outcome over = fit<Model>(data, o, HistoryIO::overlapped, make...);
  REQUIRE(sync.error.empty());
  REQUIRE(over.error.empty());
  CHECK(sync.losses == over.losses);
  CHECK(sync.vals == over.vals);
  CHECK(sync.params == over.params);
  CHECK(sync.tables == over.tables);
  for (double l : over.losses) CHECK(std::isfinite(l));
}

template <class Store, class... Make>
void check_models(const char* store, Make&&... make) {
  using namespace gas::models;
  const auto data = small_sbm();
  const GCNOptions gcn{.in = 12, .hidden = 8, .out = 4, .layers = 3, .dropout = 0.5};
  check_bit_for_bit<GCN<float, device, Store>>((std::string("GCN, ") + store).c_str(), data, gcn, make...);
  const GATModelOptions gat{.in = 12, .hidden = 4, .heads = 2, .out = 4};
  check_bit_for_bit<GAT<float, device, Store>>((std::string("GAT, ") + store).c_str(), data, gat, make...);
  const APPNPOptions appnp{.in = 12, .hidden = 8, .out = 4, .K = 3};
  check_bit_for_bit<APPNP<float, device, Store>>((std::string("APPNP, ") + store).c_str(), data, appnp, make...);
  auto raw = small_sbm(5);
  const PNAModelOptions pna{.in = 12, .hidden = 8, .out = 4, .layers = 3,
                            .degrees = gas::nn::degree_statistics(raw.graph), .batch_norm = true};
  check_bit_for_bit<PNAJK<float, device, Store>>((std::string("PNA_JK, ") + store).c_str(), raw, pna, make...);
}

}  // namespace

TEST_CASE("overlapped == synchronous bit for bit: pinned zero-copy and host-thread gathers, bf16" *
          doctest::skip(no_gpu)) {
  using gas::cuda::PinnedGather;
  using gas::cuda::PinnedStore;
  SUBCASE("zero-copy") { check_models<PinnedStore<float>>("pinned zero-copy"); }
  SUBCASE("host threads") {
    check_models<PinnedStore<float>>("pinned host-threads", [](std::int32_t, std::int64_t n, std::int64_t w) {
      return PinnedStore<float>(n, w, PinnedGather::host_threads);
    });
  }
  SUBCASE("bf16, decoded in the kernel") {
    check_models<PinnedStore<float, gas::history::half::bf16>>("pinned bf16");
  }
}

TEST_CASE("overlapped == synchronous bit for bit: device store and staged host stores" * doctest::skip(no_gpu)) {
  using gas::cuda::Staged;
  SUBCASE("device") { check_models<gas::cuda::DeviceStore<float>>("device"); }
  SUBCASE("staged dense") { check_models<Staged<gas::history::HostStore<float>>>("staged dense"); }
  SUBCASE("staged fp16") {
    check_models<Staged<gas::history::HalfStore<gas::history::half::fp16>>>("staged fp16");
  }
  SUBCASE("staged memory-mapped file") {
    const auto dir = std::filesystem::temp_directory_path() / ("gas_pipeline_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    using Mapped = gas::history::MappedStore<float>;
    auto counter = std::make_shared<int>(0);
    check_models<Staged<Mapped>>("staged mapped", [dir, counter](std::int32_t l, std::int64_t n, std::int64_t w) {
      const auto path = dir / ("h" + std::to_string((*counter)++) + "_" + std::to_string(l) + ".gas");
      return Staged<Mapped>(Mapped(path, n, w, gas::history::Mode::overwrite));
    });
    std::filesystem::remove_all(dir);
  }
}

TEST_CASE("overlapped == synchronous when most batches have no training node (staged, never taken)" *
          doctest::skip(no_gpu)) {
  // The Trainer stages every batch ahead but skips those without a training node: their stages are dropped.
  auto data = small_sbm();
  auto& train = data.splits[0].train;
  train.resize(6);
  using Model = gas::models::GCN<float, device, gas::cuda::PinnedStore<float>>;
  const gas::models::GCNOptions o{.in = 12, .hidden = 8, .out = 4, .layers = 3};
  auto run = [&](HistoryIO io) {
    Outcome out;
    Model model(data.num_nodes(), o, 7);
    const gas::TrainerOptions opts{.batch_size = 1, .epochs = 3, .seed = 5, .history_io = io};
    gas::Trainer<Model, gas::partition::Metis> trainer(model, {.num_parts = 12, .seed = 1}, opts);
    for (const auto& e : trainer.fit(data).epochs) out.losses.push_back(e.loss);
    read_back(model, out);
    return out;
  };
  const Outcome sync = run(HistoryIO::sync), over = run(HistoryIO::overlapped);
  CHECK(sync.losses == over.losses);
  CHECK(sync.params == over.params);
  CHECK(sync.tables == over.tables);
}

TEST_CASE("a bf16 pinned store keeps the bits HalfStore<bf16> keeps" * doctest::skip(no_gpu)) {
  // Pushes are encoded on the device, pulls decoded in the kernel; HalfStore encodes and decodes on the host.
  gas::cuda::PinnedStore<float, gas::history::half::bf16> pinned(50, 6);
  gas::history::HalfStore<gas::history::half::bf16> half(50, 6);
  gas::Tensor<float> rows(50, 6);
  for (std::int64_t i = 0; i < 50; ++i)
    for (std::int64_t j = 0; j < 6; ++j) rows(i, j) = std::ldexp(static_cast<float>(i * 7 + j) + 0.37f, int(i % 9) - 4);
  pinned.push_chunk(0, rows.view());
  half.push_chunk(0, rows.view());
  gas::Tensor<float> a(50, 6), b(50, 6);
  pinned.pull_chunk(0, a.view());
  half.pull_chunk(0, b.view());
  CHECK(bits(a.values()) == bits(b.values()));
}

namespace {

// A model whose hidden layers output their step's number: the staleness oracle reads what each pull returned.
template <class C>
class StampModel : public gas::models::ScalableGNN<StampModel<C>, C> {
  using Base = gas::models::ScalableGNN<StampModel<C>, C>;

public:
  using typename Base::context;
  using typename Base::var;
  StampModel(std::int64_t n, std::int32_t layers) : Base(n, gas::models::Widths{12, 2, 1, layers}) {}

  var forward_layer(var x, context& ctx) {
    auto& tape = ctx.tape();
    const std::int64_t rows = ctx.adj().rows();
    if (!ctx.first()) {
      // Keep the pulled halo rows of this step (device to device, queued: no wait).
      auto& kept = seen.emplace_back(x.rows() - rows, x.cols());
      tape.exec().copy(gas::MatrixView<const float>(x.value().slice_rows(rows, x.rows())), kept.view());
      layer_of.push_back(ctx.layer());
    }
    const std::int64_t width = ctx.last() ? 1 : 2;
    stamp.assign(static_cast<std::size_t>(rows * width), static_cast<float>(ctx.seed()));
    auto [id, node] = tape.push("stamp", rows, width);
    tape.exec().upload(gas::MatrixView<const float>(stamp.data(), rows, width), node.value);  // pageable: staged now
    return var{&tape, id};
  }

  std::vector<gas::Tensor<float, device>> seen;  // per (step, hidden layer): the pulled halo rows
  std::vector<float> stamp;
  std::vector<std::int32_t> layer_of;
};

}  // namespace

TEST_CASE("staleness oracle: every pulled halo row holds the last earlier step that pushed it" *
          doctest::skip(no_gpu)) {
  using Store = gas::cuda::PinnedStore<float>;
  using Model = StampModel<gas::models::Config<float, device, Store>>;
  const auto data = small_sbm();
  const auto part = gas::partition::Metis{.num_parts = 8, .seed = 2}.partition(data.graph);
  const auto permuted = gas::partition::permute(data, part);
  for (const int batch_size : {1, 3}) {
    CAPTURE(batch_size);
    Model model(data.num_nodes(), 3);
    for (auto& h : model.histories()) h.fill(-1.0f);  // never pushed
    gas::loader::TrainLoader loader(permuted.graph, part.ptr, {.batch_size = batch_size, .seed = 4});
    gas::autograd::Tape<float, device> tape;
    std::vector<std::vector<gas::node_id>> halos;  // per step
    std::vector<std::vector<float>> last_push(2, std::vector<float>(static_cast<std::size_t>(data.num_nodes()), -1.0f));
    std::vector<std::vector<float>> expected;      // per (step, hidden layer)
    std::uint64_t step = 1;
    gas::loader::Batch batch, next;
    for (int epoch = 0; epoch < 3; ++epoch) {
      loader.start_epoch(epoch);
      bool have = loader.next(batch);
      if (have) model.stage(permuted.features, batch);
      while (have) {
        for (int l = 0; l < 2; ++l) {
          auto& e = expected.emplace_back();
          for (const auto v : batch.halo()) e.push_back(last_push[static_cast<std::size_t>(l)][static_cast<std::size_t>(v)]);
        }
        tape.reset();
        (void)model.forward(tape, permuted.features, batch, true, step);
        model.end_step(tape);
        for (int l = 0; l < 2; ++l)
          for (std::int64_t i = 0; i < batch.batch_size; ++i)
            last_push[static_cast<std::size_t>(l)][static_cast<std::size_t>(batch.n_id[static_cast<std::size_t>(i)])] =
                static_cast<float>(step);
        ++step;
        have = loader.next(next);
        if (have) model.stage(permuted.features, next);
        std::swap(batch, next);
      }
    }
    REQUIRE(model.seen.size() == expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k) {
      const auto got = model.seen[k].to_host();
      CAPTURE(k);
      for (std::size_t i = 0; i < expected[k].size(); ++i) {
        CHECK(got(static_cast<std::int64_t>(i), 0) == expected[k][i]);
        CHECK(got(static_cast<std::int64_t>(i), 1) == expected[k][i]);
      }
    }
    const auto& stats = model.io().stats();
    CHECK(stats.pulls == static_cast<std::int64_t>(expected.size()));
  }
}

namespace {

// The Trainer's loop by hand, so that each rule's hazard is reached without the Trainer's evaluation syncs:
// `steps` steps, host reads of the tables, one layer-wise inference, host reads again.
template <class Model>
Outcome drive(const gas::Dataset& data, HistoryIO io, gas::cuda::PipelineOptions popts, int steps) {
  Outcome out;
  try {
    const auto part = gas::partition::Metis{.num_parts = 6, .seed = 1}.partition(data.graph);
    auto permuted = gas::partition::permute(data, part);
    permuted.graph = gas::gcn_normalize(permuted.graph);
    Model model(data.num_nodes(), gas::models::GCNOptions{.in = 12, .hidden = 8, .out = 4, .layers = 3}, 7);
    model.set_history_io(io);
    model.io().set_options(popts);
    // Sized up front: a buffer that grows mid-run synchronizes everything and would hide a missing event.
    model.reserve_io(gas::loader::batch_bounds(permuted.graph, part.ptr, 2));
    gas::loader::TrainLoader loader(permuted.graph, part.ptr, {.batch_size = 2, .seed = 4, .background = false});
    gas::loader::EvalLoader eval(permuted.graph, part.ptr, 2);
    auto all = model.parameters();
    gas::train::Adam<float, device> adam({{all, {}, 0.0}}, {.lr = 0.01});
    gas::autograd::Tape<float, device> tape;
    gas::loader::Batch batch, next;
    std::vector<std::int32_t> labels;
    std::vector<gas::node_id> rows;
    int done = 0;
    for (int epoch = 0; done < steps; ++epoch) {
      loader.start_epoch(epoch);
      bool have = loader.next(batch);
      if (have) model.stage(permuted.features, batch);
      while (have && done < steps) {
        labels.clear();
        rows.clear();
        for (std::int64_t i = 0; i < batch.batch_size; ++i) {
          labels.push_back(permuted.labels[static_cast<std::size_t>(batch.n_id[static_cast<std::size_t>(i)])]);
          rows.push_back(static_cast<gas::node_id>(i));
        }
        tape.reset();
        auto logits = model.forward(tape, permuted.features, batch, true, static_cast<std::uint64_t>(done));
        auto loss = gas::ops::cross_entropy(logits, std::span<const std::int32_t>(labels),
                                            std::span<const gas::node_id>(rows));
        adam.zero_grad();
        tape.backward(loss);
        adam.step();
        model.end_step(tape);
        if (auto v = model.io().queue_loss(tape, loss, 1.0)) out.losses.push_back(*v);
        ++done;
        have = loader.next(next);
        if (have && done < steps) model.stage(permuted.features, next);
        std::swap(batch, next);
      }
    }
    if (auto v = model.io().flush_loss()) out.losses.push_back(*v);
    read_back(model, out);  // rule 8: the reads must wait for the queued pushes
    out.logits = bits(model.inference(permuted.features, eval).values());
    read_back(model, out);  // appended: the tables after inference too
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  return out;
}

}  // namespace

TEST_CASE("each ordering rule has teeth: dropping it changes the result in some copy mode" * doctest::skip(no_gpu)) {
  // One line per rule: whether dropping it changed the outcome in this mode. The rules need different timings to
  // bite (early copies, late copies, random), so a single mode may show "same" for some: tools/cuda_emu/
  // check_rules.sh runs every mode and requires each rule to bite in at least one.
  using Model = gas::models::GCN<float, device, gas::cuda::PinnedStore<float>>;
  const auto data = small_sbm();
  const gas::cuda::PipelineOptions ring1{.ring = 1};
  const Outcome oracle = drive<Model>(data, HistoryIO::sync, ring1, 10);
  REQUIRE(oracle.error.empty());
  CHECK(same(oracle, drive<Model>(data, HistoryIO::overlapped, ring1, 10)));
  CHECK(same(oracle, drive<Model>(data, HistoryIO::overlapped, gas::cuda::PipelineOptions{}, 10)));
  // A dropped rule may make a kernel read garbage indices and crash the process (an illegal address on a GPU, a
  // fault in the emulator): that counts as biting, so each rule runs in its own process, named by GAS_DROP_RULE.
  if (const char* env = std::getenv("GAS_DROP_RULE")) {
    const int rule = std::atoi(env);
    REQUIRE((rule >= 1 && rule <= 8));
    const char* ring = std::getenv("GAS_RING");  // 1 (default), 2 or 3: a shallow ring masks some hazards
    const int depth = ring != nullptr ? std::atoi(ring) : 1;
    const Outcome o = drive<Model>(data, HistoryIO::overlapped, {.ring = depth, .drop_rule = rule}, 10);
    std::printf("RULE %d mode %s ring %d: %s%s\n", rule, copy_mode(), depth, same(oracle, o) ? "same" : "differs",
                o.error.empty() ? "" : (" (" + o.error + ")").c_str());
    std::fflush(stdout);
  }
}

TEST_CASE("steady state: no allocation and at most one host wait per step after the first epoch" *
          doctest::skip(no_gpu)) {
  // Every store, through AnyStore (one model type, the stores' own queue calls behind it).
  using Store = gas::cuda::AnyStore;
  using Model = gas::models::GCN<float, device, Store>;
  using gas::cuda::StoreKind;
  auto data = small_sbm();
  const auto part = gas::partition::Metis{.num_parts = 6, .seed = 1}.partition(data.graph);
  auto permuted = gas::partition::permute(data, part);
  permuted.graph = gas::gcn_normalize(permuted.graph);
  const auto dir = std::filesystem::temp_directory_path() / ("gas_steady_" + std::to_string(::getpid()));
  for (const auto kind : {StoreKind::zero_copy, StoreKind::pinned, StoreKind::bf16, StoreKind::device, StoreKind::host,
                          StoreKind::mapped}) {
    CAPTURE(gas::cuda::to_string(kind));
    Model model(data.num_nodes(), gas::models::GCNOptions{.in = 12, .hidden = 8, .out = 4, .layers = 3}, 7,
                [&](std::int32_t l, std::int64_t n, std::int64_t w) { return Store(kind, n, w, l, dir); });
    // batch_size 1: every epoch runs the same batches, so the tape's caching arena is warm after epoch 1 too.
    model.reserve_io(gas::loader::batch_bounds(permuted.graph, part.ptr, 1));
    gas::loader::TrainLoader loader(permuted.graph, part.ptr, {.batch_size = 1, .seed = 4});
    auto all = model.parameters();
    gas::train::Adam<float, device> adam({{all, {}, 0.0}}, {.lr = 0.01});
    gas::autograd::Tape<float, device> tape;
    gas::loader::Batch batch, next;
    std::vector<std::int32_t> labels;
    std::vector<gas::node_id> rows;
    std::int64_t steps_after = 0;
#ifdef GAS_EMU
    gas_emu_counters before{};
#endif
    for (int epoch = 0; epoch < 3; ++epoch) {
      if (epoch == 1) {
        model.io().reset_stats();
#ifdef GAS_EMU
        before = gas_emu_get_counters();
#endif
      }
      loader.start_epoch(epoch);
      bool have = loader.next(batch);
      if (have) model.stage(permuted.features, batch);
      while (have) {
        labels.assign(static_cast<std::size_t>(batch.batch_size), 0);
        rows.clear();
        for (std::int64_t i = 0; i < batch.batch_size; ++i) {
          labels[static_cast<std::size_t>(i)] = permuted.labels[static_cast<std::size_t>(batch.n_id[static_cast<std::size_t>(i)])];
          rows.push_back(static_cast<gas::node_id>(i));
        }
        tape.reset();
        auto logits = model.forward(tape, permuted.features, batch, true, 1);
        auto loss = gas::ops::cross_entropy(logits, std::span<const std::int32_t>(labels),
                                            std::span<const gas::node_id>(rows));
        adam.zero_grad();
        tape.backward(loss);
        adam.step();
        model.end_step(tape);
        (void)model.io().queue_loss(tape, loss, 1.0);
        if (epoch >= 1) ++steps_after;
        have = loader.next(next);
        if (have) model.stage(permuted.features, next);
        std::swap(batch, next);
      }
    }
    const auto stats = model.io().stats();
    INFO("copy mode " << copy_mode() << ", " << steps_after << " steps");
    CHECK(stats.device_allocs == 0);
    CHECK(stats.pinned_allocs == 0);
    CHECK(stats.host_waits <= steps_after);
    CHECK(stats.steps == steps_after);
#ifdef GAS_EMU
    const auto after = gas_emu_get_counters();
    CHECK(after.device_allocs - before.device_allocs == 0);
    CHECK(after.pinned_allocs - before.pinned_allocs == 0);
    CHECK(after.host_waits - before.host_waits <= steps_after);
#endif
    (void)model.io().flush_loss();
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("bad ids and widths throw before anything is queued; a model dies mid-epoch cleanly" *
          doctest::skip(no_gpu)) {
  using Store = gas::cuda::PinnedStore<float>;
  using Model = gas::models::GCN<float, device, Store>;
  auto data = small_sbm();
  const auto part = gas::partition::Metis{.num_parts = 6, .seed = 1}.partition(data.graph);
  auto permuted = gas::partition::permute(data, part);
  gas::loader::EvalLoader eval(permuted.graph, part.ptr, 2);
  SUBCASE("an id outside the histories") {
    Model model(data.num_nodes(), gas::models::GCNOptions{.in = 12, .hidden = 8, .out = 4, .layers = 2}, 7);
    gas::loader::Batch bad = eval[0];
    bad.n_id.back() = static_cast<gas::node_id>(data.num_nodes() + 5);
    gas::autograd::Tape<float, device> tape;
    CHECK_THROWS_AS(model.stage(permuted.features, bad), gas::value_error);
    CHECK_THROWS_AS((void)model.forward(tape, permuted.features, bad, true, 0), gas::value_error);
    CHECK(model.io().stats().pulls == 0);
    CHECK(model.io().stats().bytes_h2d == 0);
  }
  SUBCASE("a pull of the wrong width") {
    Store store(20, 4);
    gas::Tensor<float> out(3, 5);
    const std::vector<gas::node_id> ids{1, 2, 3};
    CHECK_THROWS_AS(store.pull(ids, out.view()), gas::shape_error);
  }
  SUBCASE("destroyed mid-epoch") {
    {
      Model model(data.num_nodes(), gas::models::GCNOptions{.in = 12, .hidden = 8, .out = 4, .layers = 3}, 7);
      gas::autograd::Tape<float, device> tape;
      model.stage(permuted.features, eval[1]);
      (void)model.forward(tape, permuted.features, eval[0], true, 0);  // eval[1] stays staged, unused
      (void)model.forward(tape, permuted.features, eval[2], true, 0);
    }  // pulls, pushes and an upload may still be queued here: the pipeline drains before its buffers go
    CHECK(cudaDeviceSynchronize() == cudaSuccess);
    CHECK(cudaGetLastError() == cudaSuccess);
  }
}

namespace {
template <class V>
concept HostIndexable = requires(V v) { v(0, 0); };
template <class A, class B>
concept CopiesAsync = requires(A a, B b) { gas::cuda::copy_async(a, b, cudaStream_t{}); };
}  // namespace

TEST_CASE("memory spaces are in the types" * doctest::skip(no_gpu)) {
  using namespace gas::cuda;
  // A pageable buffer cannot be handed to an asynchronous copy, and device memory has no host element access.
  static_assert(!AsyncCopyable<pageable_space, device_space>);
  static_assert(!AsyncCopyable<device_space, pageable_space>);
  static_assert(AsyncCopyable<pinned_space, device_space> && AsyncCopyable<device_space, mapped_space>);
  static_assert(!HostIndexable<DeviceView<float>>);
  static_assert(HostIndexable<PinnedView<float>> && HostIndexable<MappedView<const float>>);
  static_assert(!CopiesAsync<PageableView<const float>, DeviceView<float>>);
  static_assert(!CopiesAsync<DeviceView<const float>, PageableView<float>>);
  static_assert(CopiesAsync<PinnedView<const float>, DeviceView<float>>);
  static_assert(CopiesAsync<DeviceView<float>, DeviceView<float>>);
  PinnedMatrix<float> pinned(2, 3);
  for (std::int64_t k = 0; k < 6; ++k) pinned.data()[k] = static_cast<float>(k);
  gas::Tensor<float, device> d(2, 3);
  copy_async(pinned.view(), device_view(d.view()), nullptr);
  CHECK(d.to_host()(1, 2) == 5.0f);
  CHECK_THROWS_AS(copy_async(pinned.view(), DeviceView<float>(d.data(), 3, 2), nullptr), gas::shape_error);
}

TEST_CASE("docs/cuda.md: a GCN trained with a GPU store" * doctest::skip(no_gpu)) {
  const auto data = small_sbm();
  // example-begin gpu-store
  using Store = gas::cuda::PinnedStore<float>;  // mapped pinned memory, zero-copy gathers
  gas::models::GCN<float, gas::cuda::device, Store> model(data.num_nodes(), {.in = 12, .hidden = 8, .out = 4}, 7);
  gas::Trainer<decltype(model), gas::partition::Metis> trainer(model, {.num_parts = 6, .seed = 1},
                                                                {.batch_size = 2, .epochs = 3});
  const gas::TrainResult result = trainer.fit(data);  // overlapped: no host wait inside a step but one
  const auto& stats = model.io().stats();  // bytes moved, host waits, allocations, copy-stream busy time
  // example-end gpu-store
  CHECK(model.history_io() == HistoryIO::overlapped);
  CHECK(result.epochs.size() == 3);
  CHECK(stats.steps > 0);
  CHECK(stats.pulls >= stats.steps);  // one halo pull per hidden layer and step, and the inference passes' pulls
  CHECK(stats.pushes >= stats.steps);
  CHECK(stats.bytes_h2d > 0);
  CHECK(stats.bytes_d2h > 0);
}
