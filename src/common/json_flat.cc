#include "json_flat.h"

#include <cstddef>
#include <utility>
#include <vector>

namespace tcpscribe {
namespace {

struct Node {
  enum class Kind { kScalar, kObject, kArray } kind = Kind::kScalar;
  std::string_view text;  ///< the value's whole text in the input
  std::vector<std::string_view> keys;  ///< objects: the keys (unquoted, escapes kept)
  std::vector<Node> items;             ///< objects: the values, keys[i]'s is items[i]; arrays: the elements
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  bool parse_whole(Node& out) {
    if (!value(out, 0)) return false;
    space();
    return i_ == s_.size();
  }

 private:
  static constexpr int kMaxDepth = 64;

  void space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    space();
    if (i_ >= s_.size() || s_[i_] != c) return false;
    ++i_;
    return true;
  }
  bool string(std::string_view& inner) {  // at the opening quote
    const size_t start = ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\') ++i_;
      ++i_;
    }
    if (i_ >= s_.size()) return false;
    inner = s_.substr(start, i_ - start);
    ++i_;
    return true;
  }
  bool value(Node& n, int depth) {
    if (depth > kMaxDepth) return false;
    space();
    if (i_ >= s_.size()) return false;
    const size_t start = i_;
    const char c = s_[i_];
    if (c == '{') {
      n.kind = Node::Kind::kObject;
      ++i_;
      if (!eat('}')) {
        do {
          space();
          std::string_view key;
          if (i_ >= s_.size() || s_[i_] != '"' || !string(key) || !eat(':')) return false;
          n.keys.push_back(key);
          n.items.emplace_back();
          if (!value(n.items.back(), depth + 1)) return false;
        } while (eat(','));
        if (!eat('}')) return false;
      }
    } else if (c == '[') {
      n.kind = Node::Kind::kArray;
      ++i_;
      if (!eat(']')) {
        do {
          n.items.emplace_back();
          if (!value(n.items.back(), depth + 1)) return false;
        } while (eat(','));
        if (!eat(']')) return false;
      }
    } else if (c == '"') {
      std::string_view ignored;
      if (!string(ignored)) return false;
    } else {  // number, true, false, null
      while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' && s_[i_] != ' ' &&
             s_[i_] != '\t' && s_[i_] != '\n' && s_[i_] != '\r' && s_[i_] != ':') {
        ++i_;
      }
      if (i_ == start) return false;
    }
    n.text = s_.substr(start, i_ - start);
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

using Columns = std::vector<std::pair<std::string, std::string>>;  // dotted key, JSON text

bool is_null(const Node& n) { return n.kind == Node::Kind::kScalar && n.text == "null"; }

// An array whose elements are objects (and maybe nulls), at least one object.
bool array_of_objects(const Node& n) {
  bool any = false;
  for (const Node& e : n.items) {
    if (e.kind == Node::Kind::kObject) {
      any = true;
    } else if (!is_null(e)) {
      return false;
    }
  }
  return any;
}

void flatten_into(const Node& object, const std::string& prefix, Columns& out) {
  for (size_t i = 0; i < object.keys.size(); ++i) {
    const Node& v = object.items[i];
    std::string name = prefix;
    name += object.keys[i];
    if (v.kind == Node::Kind::kObject) {
      flatten_into(v, name + ".", out);
    } else if (v.kind == Node::Kind::kArray && array_of_objects(v)) {
      std::vector<Columns> rows(v.items.size());
      Columns keys;  // first appearance order; .second unused
      for (size_t r = 0; r < v.items.size(); ++r) {
        if (v.items[r].kind != Node::Kind::kObject) continue;
        flatten_into(v.items[r], "", rows[r]);
        for (const auto& [k, text] : rows[r]) {
          bool known = false;
          for (const auto& [seen, unused] : keys) known = known || seen == k;
          if (!known) keys.emplace_back(k, std::string());
        }
      }
      for (const auto& [k, unused] : keys) {
        std::string list = "[";
        for (size_t r = 0; r < rows.size(); ++r) {
          if (r > 0) list += ',';
          const std::string* found = nullptr;
          for (const auto& [rk, text] : rows[r]) {
            if (rk == k) {
              found = &text;
              break;
            }
          }
          list += found ? *found : std::string("null");
        }
        list += ']';
        out.emplace_back(name + "." + k, std::move(list));
      }
    } else {
      out.emplace_back(std::move(name), std::string(v.text));
    }
  }
}

}  // namespace

std::string flatten_json_object(std::string_view line) {
  Node root;
  if (!Parser(line).parse_whole(root) || root.kind != Node::Kind::kObject) return std::string(line);
  Columns cols;
  flatten_into(root, "", cols);
  std::string o = "{";
  for (const auto& [key, text] : cols) {
    if (o.size() > 1) o += ',';
    o += '"';
    o += key;
    o += "\":";
    o += text;
  }
  o += '}';
  return o;
}

}  // namespace tcpscribe
