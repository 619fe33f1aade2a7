#include "object_store/object_table.hpp"

#include <algorithm>

namespace cafray {

object_table::object_table(std::shared_ptr<local_objects> storage)
  : storage_(std::move(storage)) {
}

std::vector<uint64_t> object_table::seal(const object_id& id,
                                         object_payload payload,
                                         bool* fresh) {
  std::vector<uint64_t> completed;
  auto adopted = storage_->adopt(id, std::move(payload));
  if (fresh)
    *fresh = adopted != local_objects::adoption::repeated;
  // A repeated seal still completes requests: a producer may have published
  // the object final after they were opened (see `local_objects::publish`).
  auto i = waiting_.find(id);
  if (i == waiting_.end())
    return completed;
  for (auto [token, k] : i->second) {
    auto j = requests_.find(token);
    if (j == requests_.end())
      continue;
    auto& req = j->second;
    if (req.ready[k])
      continue;
    req.ready[k] = 1;
    // A request completes exactly once: when `have` reaches `needed`.
    if (++req.have == req.needed)
      completed.push_back(token);
  }
  waiting_.erase(i);
  std::sort(completed.begin(), completed.end());
  return completed;
}

std::optional<object_payload> object_table::find(const object_id& id) const {
  return storage_->find(id);
}

uint64_t object_table::open(std::vector<object_id> ids, size_t needed,
                            bool& complete, request* out) {
  request req;
  req.ready.resize(ids.size(), 0);
  req.needed = std::min(needed, ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    if (contains(ids[k])) {
      req.ready[k] = 1;
      ++req.have;
    }
  }
  req.ids = std::move(ids);
  auto token = next_token_++;
  complete = req.have >= req.needed;
  if (complete) {
    if (out)
      *out = std::move(req);
    return token;
  }
  for (size_t k = 0; k < req.ids.size(); ++k)
    if (!req.ready[k])
      waiting_[req.ids[k]].emplace_back(token, k);
  requests_.emplace(token, std::move(req));
  return token;
}

object_table::request* object_table::find_request(uint64_t token) {
  auto i = requests_.find(token);
  return i != requests_.end() ? &i->second : nullptr;
}

void object_table::close(uint64_t token) {
  auto i = requests_.find(token);
  if (i == requests_.end())
    return;
  for (size_t k = 0; k < i->second.ids.size(); ++k) {
    if (i->second.ready[k])
      continue;
    auto j = waiting_.find(i->second.ids[k]);
    if (j == waiting_.end())
      continue;
    auto& entries = j->second;
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [token](const auto& x) {
                                   return x.first == token;
                                 }),
                  entries.end());
    if (entries.empty())
      waiting_.erase(j);
  }
  requests_.erase(i);
}

void object_table::release(const std::vector<object_id>& ids) {
  for (auto& id : ids)
    storage_->release(id);
}

} // namespace cafray
