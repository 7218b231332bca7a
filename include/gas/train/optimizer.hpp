#pragma once
/// @brief Optimizers with parameter groups: Adam, AdamW and SGD, with the update rules of torch.optim (1.13).
///
/// The reference trains with two groups that share the learning rate and differ in weight decay, so a group
/// leaves `lr` or `weight_decay` unset to take the optimizer's value, as a torch param group without that key
/// does. Optimizer state is allocated when the optimizer is built; `step()` allocates nothing. Every parameter is
/// updated at every step: a parameter that no loss reached has a zero gradient (PyTorch would skip it, having
/// no gradient at all), which matters only for weight decay and momentum.

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "gas/autograd/parameter.hpp"
#include "gas/core/check.hpp"
#include "gas/core/exec.hpp"
#include "gas/core/tensor.hpp"
#include "gas/ops/attributes.hpp"
#include "gas/ops/host/optim.hpp"
#include "gas/ops/impl.hpp"

namespace gas::train {

/// @brief Parameters that share a learning rate and a weight decay; unset values come from the optimizer.
template <class T, class Backend = host>
struct ParamGroup {
  // Default member initializers let `{.params = ..., .weight_decay = ...}` leave lr unset without a
  // -Wmissing-field-initializers warning in user code.
  std::vector<autograd::Parameter<T, Backend>*> params = {};
  std::optional<double> lr = std::nullopt;            // unset: the optimizer's Options::lr
  std::optional<double> weight_decay = std::nullopt;  // unset: the optimizer's Options::weight_decay
};

/// @brief Hyperparameters of Adam (torch.optim.Adam defaults).
struct AdamOptions {
  double lr = 0.001;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  // L2 penalty added to the gradient
};

/// @brief Hyperparameters of AdamW (torch.optim.AdamW defaults: decoupled weight decay 0.01).
struct AdamWOptions {
  double lr = 0.001;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;  // decoupled: p -= lr * weight_decay * p before the Adam update
};

/// @brief Hyperparameters of SGD (torch.optim.SGD; PyTorch has no default learning rate, ours is 0.01).
struct SgdOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;  // L2 penalty added to the gradient
  bool nesterov = false;    // needs momentum > 0 and dampening 0
};

namespace detail {

/// @brief Groups with their values resolved, the bookkeeping Adam, AdamW and SGD share.
template <class T, class Backend>
class GroupedOptimizer {
public:
  /// @brief Sets the gradient of every parameter to zero (keeping its buffer).
  void zero_grad() {
    for (auto& g : groups_)
      for (auto* p : g.params) p->zero_grad();
  }

  /// @brief Sets the learning rate of every group (what schedulers call).
  void set_lr(double lr) {
    GAS_CHECK(lr >= 0, value_error, "learning rate " << lr << " is negative");
    for (auto& g : groups_) g.lr = lr;
  }

  /// @brief The learning rate of the first group (every group's, unless the groups were built with different ones).
  [[nodiscard]] double lr() const { return groups_.front().lr; }

  /// @brief The learning rate of group `group`.
  [[nodiscard]] double lr(std::size_t group) const {
    GAS_CHECK(group < groups_.size(), value_error, "group " << group << " of " << groups_.size());
    return groups_[group].lr;
  }

  /// @brief Number of parameter groups.
  [[nodiscard]] std::size_t num_groups() const { return groups_.size(); }

  /// @brief Number of steps taken.
  [[nodiscard]] std::int64_t steps() const { return steps_; }

  /// @brief Sets the step counter, for a resumed run (with state_tensors() restored beside it; Adam's bias
  /// correction and SGD's first-step rule read it). Throws value_error for a negative count.
  void set_steps(std::int64_t steps) {
    GAS_CHECK(steps >= 0, value_error, "optimizer step count " << steps << " is negative");
    steps_ = steps;
  }

protected:
  struct Group {
    std::vector<autograd::Parameter<T, Backend>*> params;
    double lr;
    double weight_decay;
  };

  GroupedOptimizer(std::vector<ParamGroup<T, Backend>> groups, double lr, double weight_decay) {
    GAS_CHECK(!groups.empty(), value_error, "no parameter groups");
    std::set<const autograd::Parameter<T, Backend>*> seen;
    for (std::size_t k = 0; k < groups.size(); ++k) {
      auto& g = groups[k];
      const double group_lr = g.lr.value_or(lr), group_decay = g.weight_decay.value_or(weight_decay);
      GAS_CHECK(group_lr >= 0, value_error, "group " << k << ": learning rate " << group_lr << " is negative");
      GAS_CHECK(group_decay >= 0, value_error, "group " << k << ": weight decay " << group_decay << " is negative");
      for (std::size_t i = 0; i < g.params.size(); ++i) {
        GAS_CHECK(g.params[i] != nullptr, value_error, "group " << k << ": parameter " << i << " is null");
        GAS_CHECK(seen.insert(g.params[i]).second, value_error,
                  "group " << k << ": parameter '" << g.params[i]->name << "' appears in more than one place");
      }
      groups_.push_back({std::move(g.params), group_lr, group_decay});
    }
  }

  /// @brief Checks every parameter against its gradient and against `state` (one tensor per parameter, or empty)
  /// before a step changes anything, so that a failed step leaves every parameter as it was.
  void check_shapes(const std::vector<Tensor<T, Backend>>& state) const {
    std::size_t index = 0;
    for (const auto& g : groups_)
      for (const auto* p : g.params) {
        GAS_CHECK(p->grad.rows() == p->value.rows() && p->grad.cols() == p->value.cols(), shape_error,
                  "parameter '" << p->name << "' is (" << p->value.rows() << " x " << p->value.cols()
                                << ") but its gradient is (" << p->grad.rows() << " x " << p->grad.cols() << ")");
        if (!state.empty()) {
          const auto& s = state[index];
          GAS_CHECK(p->value.rows() == s.rows() && p->value.cols() == s.cols(), shape_error,
                    "parameter '" << p->name << "' is (" << p->value.rows() << " x " << p->value.cols()
                                  << ") but was (" << s.rows() << " x " << s.cols()
                                  << ") when the optimizer was built");
        }
        ++index;
      }
  }

  /// @brief Calls f(group, parameter, state index) for every parameter, in group order.
  template <class F>
  void for_each_param(F&& f) {
    std::size_t index = 0;
    for (auto& g : groups_)
      for (auto* p : g.params) f(g, *p, index++);
  }

  /// @brief One zero tensor per parameter, shaped like it: optimizer state.
  std::vector<Tensor<T, Backend>> zeros_like_params() {
    std::vector<Tensor<T, Backend>> out;
    for (auto& g : groups_)
      for (auto* p : g.params) {
        out.emplace_back(p->value.rows(), p->value.cols());
        out.back().fill(T{0});
      }
    // Device state is cleared on the default stream; the updates run on the parameters' (a tape's) stream.
    if constexpr (!on_host<Backend>) Exec<Backend>().synchronize();
    return out;
  }

  std::vector<Group> groups_;
  std::int64_t steps_ = 0;
};

inline void check_betas(double beta1, double beta2, double eps) {
  GAS_CHECK(beta1 >= 0 && beta1 < 1, value_error, "beta1 " << beta1 << " outside [0, 1)");
  GAS_CHECK(beta2 >= 0 && beta2 < 1, value_error, "beta2 " << beta2 << " outside [0, 1)");
  GAS_CHECK(eps >= 0, value_error, "eps " << eps << " is negative");
}

/// @brief One Adam (`l2`: decay added to the gradient) or AdamW (`decoupled`: p *= 1 - decoupled first) update of
/// a parameter of any backend, in torch's operation order (ops::Impl<ops::AdamUpdate, Backend>: host loop in
/// gas/ops/host/optim.hpp, device kernel through gas/cuda/ops/optim.cuh).
template <class T, class Backend>
void adam_step(autograd::Parameter<T, Backend>& p, Tensor<T, Backend>& m, Tensor<T, Backend>& v, double lr, double l2,
               double decoupled, double beta1, double beta2, double eps, std::int64_t step) {
  const ops::AdamUpdate update{
      .lr = lr, .l2 = l2, .decoupled = decoupled, .beta1 = beta1, .beta2 = beta2, .eps = eps, .step = step};
  ops::Impl<ops::AdamUpdate, Backend>::run(update, p.value, std::as_const(p.grad), m, v);
}

}  // namespace detail

/// @brief Adam (torch.optim.Adam): L2 weight decay added to the gradient, bias-corrected moments.
template <class T, class Backend = host>
class Adam : public detail::GroupedOptimizer<T, Backend> {
  using Base = detail::GroupedOptimizer<T, Backend>;

public:
  using Options = AdamOptions;

  /// @brief An optimizer over `groups`; a group's unset lr or weight decay takes the value in `options`.
  Adam(std::vector<ParamGroup<T, Backend>> groups, Options options = {})
      : Base(std::move(groups), options.lr, options.weight_decay), options_(options) {
    detail::check_betas(options.beta1, options.beta2, options.eps);
    exp_avg_ = this->zeros_like_params();
    exp_avg_sq_ = this->zeros_like_params();
  }
  /// @brief An optimizer over one group holding `params`.
  Adam(std::vector<autograd::Parameter<T, Backend>*> params, Options options = {})
      : Adam(std::vector<ParamGroup<T, Backend>>{{std::move(params), {}, {}}}, options) {}
  /// @brief An optimizer over one group holding `params` (a braced list would otherwise be ambiguous).
  Adam(std::initializer_list<autograd::Parameter<T, Backend>*> params, Options options = {})
      : Adam(std::vector<autograd::Parameter<T, Backend>*>(params), options) {}

  /// @brief The optimizer's state, for checkpoints: every parameter's first moment, then every second moment
  /// (parameter order of the groups). Restore the values in place, with set_steps().
  [[nodiscard]] std::vector<Tensor<T, Backend>*> state_tensors() {
    std::vector<Tensor<T, Backend>*> out;
    for (auto& t : exp_avg_) out.push_back(&t);
    for (auto& t : exp_avg_sq_) out.push_back(&t);
    return out;
  }

  /// @brief One update of every parameter from its current gradient.
  void step() {
    this->check_shapes(exp_avg_);
    ++this->steps_;
    this->for_each_param([&](auto& group, autograd::Parameter<T, Backend>& p, std::size_t k) {
      detail::adam_step(p, exp_avg_[k], exp_avg_sq_[k], group.lr, group.weight_decay, 0.0, options_.beta1,
                        options_.beta2, options_.eps, this->steps_);
    });
  }

private:
  Options options_;
  std::vector<Tensor<T, Backend>> exp_avg_, exp_avg_sq_;  // first and second moments, one per parameter
};

/// @brief AdamW (torch.optim.AdamW): Adam with weight decay decoupled from the gradient.
template <class T, class Backend = host>
class AdamW : public detail::GroupedOptimizer<T, Backend> {
  using Base = detail::GroupedOptimizer<T, Backend>;

public:
  using Options = AdamWOptions;

  /// @brief An optimizer over `groups`; a group's unset lr or weight decay takes the value in `options`.
  AdamW(std::vector<ParamGroup<T, Backend>> groups, Options options = {})
      : Base(std::move(groups), options.lr, options.weight_decay), options_(options) {
    detail::check_betas(options.beta1, options.beta2, options.eps);
    exp_avg_ = this->zeros_like_params();
    exp_avg_sq_ = this->zeros_like_params();
  }
  /// @brief An optimizer over one group holding `params`.
  AdamW(std::vector<autograd::Parameter<T, Backend>*> params, Options options = {})
      : AdamW(std::vector<ParamGroup<T, Backend>>{{std::move(params), {}, {}}}, options) {}
  /// @brief An optimizer over one group holding `params` (a braced list would otherwise be ambiguous).
  AdamW(std::initializer_list<autograd::Parameter<T, Backend>*> params, Options options = {})
      : AdamW(std::vector<autograd::Parameter<T, Backend>*>(params), options) {}

  /// @brief The optimizer's state, for checkpoints: every parameter's first moment, then every second moment
  /// (parameter order of the groups). Restore the values in place, with set_steps().
  [[nodiscard]] std::vector<Tensor<T, Backend>*> state_tensors() {
    std::vector<Tensor<T, Backend>*> out;
    for (auto& t : exp_avg_) out.push_back(&t);
    for (auto& t : exp_avg_sq_) out.push_back(&t);
    return out;
  }

  /// @brief One update of every parameter from its current gradient.
  void step() {
    this->check_shapes(exp_avg_);
    ++this->steps_;
    this->for_each_param([&](auto& group, autograd::Parameter<T, Backend>& p, std::size_t k) {
      detail::adam_step(p, exp_avg_[k], exp_avg_sq_[k], group.lr, 0.0, group.lr * group.weight_decay, options_.beta1,
                        options_.beta2, options_.eps, this->steps_);
    });
  }

private:
  Options options_;
  std::vector<Tensor<T, Backend>> exp_avg_, exp_avg_sq_;
};

/// @brief Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay
/// (torch.optim.SGD: the first step seeds the momentum buffer with the gradient itself).
template <class T, class Backend = host>
class SGD : public detail::GroupedOptimizer<T, Backend> {
  using Base = detail::GroupedOptimizer<T, Backend>;

public:
  using Options = SgdOptions;

  /// @brief An optimizer over `groups`; a group's unset lr or weight decay takes the value in `options`.
  SGD(std::vector<ParamGroup<T, Backend>> groups, Options options = {})
      : Base(std::move(groups), options.lr, options.weight_decay), options_(options) {
    GAS_CHECK(options.momentum >= 0, value_error, "momentum " << options.momentum << " is negative");
    GAS_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0), value_error,
              "Nesterov momentum needs momentum > 0 and dampening 0, got momentum "
                  << options.momentum << ", dampening " << options.dampening);
    if (options.momentum != 0) momentum_ = this->zeros_like_params();
  }
  /// @brief An optimizer over one group holding `params`.
  SGD(std::vector<autograd::Parameter<T, Backend>*> params, Options options = {})
      : SGD(std::vector<ParamGroup<T, Backend>>{{std::move(params), {}, {}}}, options) {}
  /// @brief An optimizer over one group holding `params` (a braced list would otherwise be ambiguous).
  SGD(std::initializer_list<autograd::Parameter<T, Backend>*> params, Options options = {})
      : SGD(std::vector<autograd::Parameter<T, Backend>*>(params), options) {}

  /// @brief The optimizer's state, for checkpoints: every parameter's momentum buffer (none without momentum).
  [[nodiscard]] std::vector<Tensor<T, Backend>*> state_tensors() {
    std::vector<Tensor<T, Backend>*> out;
    for (auto& t : momentum_) out.push_back(&t);
    return out;
  }

  /// @brief One update of every parameter from its current gradient.
  void step() {
    this->check_shapes(momentum_);
    ++this->steps_;
    const double mu = options_.momentum, damp = options_.dampening;
    const bool first = this->steps_ == 1;
    this->for_each_param([&](auto& group, autograd::Parameter<T, Backend>& p, std::size_t k) {
      const ops::SgdUpdate update{.lr = group.lr, .weight_decay = group.weight_decay, .momentum = mu,
                                  .dampening = damp, .nesterov = options_.nesterov, .first = first};
      Tensor<T, Backend>* buffer = mu != 0 ? &momentum_[k] : nullptr;
      ops::Impl<ops::SgdUpdate, Backend>::run(update, p.value, std::as_const(p.grad), buffer);
    });
  }

private:
  Options options_;
  std::vector<Tensor<T, Backend>> momentum_;  // one per parameter when momentum != 0
};

}  // namespace gas::train
