#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace cafray {

/// Immutable bytes shared without copies inside a process. Crossing a process
/// boundary serializes the bytes; inside one, a message carries the same
/// buffer to every reader.
class blob {
public:
  using buffer = std::vector<char>;

  blob() = default;

  explicit blob(buffer bytes)
    : data_(std::make_shared<const buffer>(std::move(bytes))) {
  }

  explicit blob(std::shared_ptr<const buffer> bytes) : data_(std::move(bytes)) {
  }

  const char* data() const noexcept {
    return data_ ? data_->data() : nullptr;
  }

  size_t size() const noexcept {
    return data_ ? data_->size() : 0;
  }

  bool empty() const noexcept {
    return size() == 0;
  }

  const std::shared_ptr<const buffer>& shared() const noexcept {
    return data_;
  }

  friend bool operator==(const blob& x, const blob& y) noexcept {
    if (x.size() != y.size())
      return false;
    return x.size() == 0 || x.data_ == y.data_
           || std::equal(x.data_->begin(), x.data_->end(), y.data_->begin());
  }

  template <class Inspector>
  friend typename std::enable_if<Inspector::reads_state,
                                 typename Inspector::result_type>::type
  inspect(Inspector& f, blob& x) {
    static const buffer empty;
    return f(caf::meta::type_name("blob"), x.data_ ? *x.data_ : empty);
  }

  template <class Inspector>
  friend typename std::enable_if<Inspector::writes_state,
                                 typename Inspector::result_type>::type
  inspect(Inspector& f, blob& x) {
    auto tmp = std::make_shared<buffer>();
    auto result = f(caf::meta::type_name("blob"), *tmp);
    x.data_ = std::move(tmp);
    return result;
  }

private:
  std::shared_ptr<const buffer> data_;
};

} // namespace cafray
