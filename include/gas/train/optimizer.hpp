#pragma once
/// @brief Optimisers with parameter groups: Adam, AdamW and SGD, with the update rules of torch.optim (1.13).
///
/// The reference trains with two groups that share the learning rate and differ in weight decay, so a group
/// leaves `lr` or `weight_decay` unset to take the optimiser's value, as a torch param group without that key
/// does. Optimiser state is allocated when the optimiser is built; `step()` allocates nothing. Every parameter is
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
#include "gas/ops/device_ops.hpp"

namespace gas::train {

/// @brief Parameters that share a learning rate and a weight decay; unset values come from the optimiser.
template <class T, class Backend = host>
struct ParamGroup {
  // Default member initialisers let `{.params = ..., .weight_decay = ...}` leave lr unset without a
  // -Wmissing-field-initializers warning in user code.
  std::vector<ag::Parameter<T, Backend>*> params = {};
  std::optional<double> lr = std::nullopt;            // unset: the optimiser's Options::lr
  std::optional<double> weight_decay = std::nullopt;  // unset: the optimiser's Options::weight_decay
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

protected:
  struct Group {
    std::vector<ag::Parameter<T, Backend>*> params;
    double lr;
    double weight_decay;
  };

  GroupedOptimizer(std::vector<ParamGroup<T, Backend>> groups, double lr, double weight_decay) {
    GAS_CHECK(!groups.empty(), value_error, "no parameter groups");
    std::set<const ag::Parameter<T, Backend>*> seen;
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
                                  << ") when the optimiser was built");
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

  /// @brief One zero tensor per parameter, shaped like it: optimiser state.
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

/// @brief The Adam moment update and parameter step shared by Adam (`l2`: decay added to the gradient) and AdamW
/// (`decoupled`: p *= 1 - decoupled first), in torch's operation order.
template <class T>
void adam_update(std::span<T> p, std::span<const T> grad, std::span<T> m, std::span<T> v, double lr, double l2,
                 double decoupled, double beta1, double beta2, double eps, std::int64_t step) {
  const double bias1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bias2_sqrt = std::sqrt(1 - std::pow(beta2, static_cast<double>(step)));
  const double step_size = lr / bias1;
  const auto n = static_cast<std::int64_t>(p.size());
#pragma omp parallel for schedule(static) if (n > 65536)
  for (std::int64_t i = 0; i < n; ++i) {
    if (decoupled != 0) p[i] = static_cast<T>(p[i] * (1 - decoupled));
    double g = grad[i];
    if (l2 != 0) g += l2 * static_cast<double>(p[i]);
    const double mi = static_cast<double>(m[i]) * beta1 + g * (1 - beta1);
    const double vi = static_cast<double>(v[i]) * beta2 + (1 - beta2) * g * g;
    m[i] = static_cast<T>(mi);
    v[i] = static_cast<T>(vi);
    const double denom = std::sqrt(static_cast<double>(v[i])) / bias2_sqrt + eps;
    p[i] = static_cast<T>(p[i] - step_size * static_cast<double>(m[i]) / denom);
  }
}

/// @brief adam_update on a parameter of any backend (the device's kernel lives in gas/cuda/kernels/optim.cuh).
template <class T, class Backend>
void adam_step(ag::Parameter<T, Backend>& p, Tensor<T, Backend>& m, Tensor<T, Backend>& v, double lr, double l2,
               double decoupled, double beta1, double beta2, double eps, std::int64_t step) {
  if constexpr (on_host<Backend>)
    adam_update<T>(p.value.values(), std::as_const(p.grad).values(), m.values(), v.values(), lr, l2, decoupled, beta1,
                   beta2, eps, step);
  else
    ops::DeviceOps<Backend>::adam_update(p.value, p.grad, m, v, lr, l2, decoupled, beta1, beta2, eps, step);
}

}  // namespace detail

/// @brief Adam (torch.optim.Adam): L2 weight decay added to the gradient, bias-corrected moments.
template <class T, class Backend = host>
class Adam : public detail::GroupedOptimizer<T, Backend> {
  using Base = detail::GroupedOptimizer<T, Backend>;

public:
  using Options = AdamOptions;

  /// @brief An optimiser over `groups`; a group's unset lr or weight decay takes the value in `options`.
  Adam(std::vector<ParamGroup<T, Backend>> groups, Options options = {})
      : Base(std::move(groups), options.lr, options.weight_decay), options_(options) {
    detail::check_betas(options.beta1, options.beta2, options.eps);
    exp_avg_ = this->zeros_like_params();
    exp_avg_sq_ = this->zeros_like_params();
  }
  /// @brief An optimiser over one group holding `params`.
  Adam(std::vector<ag::Parameter<T, Backend>*> params, Options options = {})
      : Adam(std::vector<ParamGroup<T, Backend>>{{std::move(params), {}, {}}}, options) {}
  /// @brief An optimiser over one group holding `params` (a braced list would otherwise be ambiguous).
  Adam(std::initializer_list<ag::Parameter<T, Backend>*> params, Options options = {})
      : Adam(std::vector<ag::Parameter<T, Backend>*>(params), options) {}

  /// @brief One update of every parameter from its current gradient.
  void step() {
    this->check_shapes(exp_avg_);
    ++this->steps_;
    this->for_each_param([&](auto& group, ag::Parameter<T, Backend>& p, std::size_t k) {
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

  /// @brief An optimiser over `groups`; a group's unset lr or weight decay takes the value in `options`.
  AdamW(std::vector<ParamGroup<T, Backend>> groups, Options options = {})
      : Base(std::move(groups), options.lr, options.weight_decay), options_(options) {
    detail::check_betas(options.beta1, options.beta2, options.eps);
    exp_avg_ = this->zeros_like_params();
    exp_avg_sq_ = this->zeros_like_params();
  }
  /// @brief An optimiser over one group holding `params`.
  AdamW(std::vector<ag::Parameter<T, Backend>*> params, Options options = {})
      : AdamW(std::vector<ParamGroup<T, Backend>>{{std::move(params), {}, {}}}, options) {}
  /// @brief An optimiser over one group holding `params` (a braced list would otherwise be ambiguous).
  AdamW(std::initializer_list<ag::Parameter<T, Backend>*> params, Options options = {})
      : AdamW(std::vector<ag::Parameter<T, Backend>*>(params), options) {}

  /// @brief One update of every parameter from its current gradient.
  void step() {
    this->check_shapes(exp_avg_);
    ++this->steps_;
    this->for_each_param([&](auto& group, ag::Parameter<T, Backend>& p, std::size_t k) {
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

  /// @brief An optimiser over `groups`; a group's unset lr or weight decay takes the value in `options`.
  SGD(std::vector<ParamGroup<T, Backend>> groups, Options options = {})
      : Base(std::move(groups), options.lr, options.weight_decay), options_(options) {
    GAS_CHECK(options.momentum >= 0, value_error, "momentum " << options.momentum << " is negative");
    GAS_CHECK(!options.nesterov || (options.momentum > 0 && options.dampening == 0), value_error,
              "Nesterov momentum needs momentum > 0 and dampening 0, got momentum "
                  << options.momentum << ", dampening " << options.dampening);
    if (options.momentum != 0) momentum_ = this->zeros_like_params();
  }
  /// @brief An optimiser over one group holding `params`.
  SGD(std::vector<ag::Parameter<T, Backend>*> params, Options options = {})
      : SGD(std::vector<ParamGroup<T, Backend>>{{std::move(params), {}, {}}}, options) {}
  /// @brief An optimiser over one group holding `params` (a braced list would otherwise be ambiguous).
  SGD(std::initializer_list<ag::Parameter<T, Backend>*> params, Options options = {})
      : SGD(std::vector<ag::Parameter<T, Backend>*>(params), options) {}

  /// @brief One update of every parameter from its current gradient.
  void step() {
    this->check_shapes(momentum_);
    ++this->steps_;
    const double mu = options_.momentum, damp = options_.dampening;
    const bool first = this->steps_ == 1;
    this->for_each_param([&](auto& group, ag::Parameter<T, Backend>& p, std::size_t k) {
      if constexpr (!on_host<Backend>) {
        ops::DeviceOps<Backend>::sgd_update(p.value, p.grad, mu != 0 ? &momentum_[k] : nullptr, group.lr,
                                            group.weight_decay, mu, damp, options_.nesterov, first);
      } else {
        auto value = p.value.values();
        const auto grad = std::as_const(p.grad).values();
        const std::span<T> buf = mu != 0 ? momentum_[k].values() : std::span<T>();
        const double lr = group.lr, wd = group.weight_decay;
        const auto n = static_cast<std::int64_t>(value.size());
#pragma omp parallel for schedule(static) if (n > 65536)
        for (std::int64_t i = 0; i < n; ++i) {
          double d = grad[i];
          if (wd != 0) d += wd * static_cast<double>(value[i]);
          if (mu != 0) {
            buf[i] = static_cast<T>(first ? d : static_cast<double>(buf[i]) * mu + (1 - damp) * d);
            d = options_.nesterov ? d + mu * static_cast<double>(buf[i]) : static_cast<double>(buf[i]);
          }
          value[i] = static_cast<T>(value[i] - lr * d);
        }
      }
    });
  }

private:
  Options options_;
  std::vector<Tensor<T, Backend>> momentum_;  // one per parameter when momentum != 0
};

}  // namespace gas::train
