#pragma once
// `when` conditions of fallback rules, compiled once when a policy is parsed and then evaluated
// against each request's routing context without re-reading the JSON.
//
// Two forms, combinable in one object (every key must hold, AND):
//   key form       {"status":["timeout","5xx"]}  the context value at that path equals the scalar, or
//                  is one of the listed values; a missing path is false.
//   operator form  {"==":[a,b]} {"!=":[a,b]} {">":[a,b]} {"<":[a,b]} {">=":[a,b]} {"<=":[a,b]}
//                  {"in":[a,list-or-string]} {"all":[c,...]} {"any":[c,...]} {"not":c}
//                  with operands that are literals, {"var":"a.b"} or nested conditions.
// A key that is an operator name is always read as the operator; a key that cannot be a path
// ("===", "~=") or is a JsonLogic operator this language lacks ("and", "or", "if") is refused at
// compile time rather than silently never matching. `{}` is true; `true`/`false`
// are accepted as conditions. A `var` names a dotted path into the context (array elements by
// index, "items.0"); a leading "context." is optional, as in the predecessor's policies.
//
// Evaluation rules: any comparison with a missing operand is false (also `!=`). Numbers compare
// numerically whatever their JSON representation; strings compare by bytes; ordering between
// different types is false, equality between different types is false. `in` tests membership in an
// array or, for two strings, substring. A bare `{"var":..}` used as a condition is true only when the
// value is the boolean `true`.

#include <beamline/router/policy_error.hpp>
#include <beamline/router/routing_context.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace beamline::router
{

/// A dotted path into the routing context, split once.
class context_path
{
public:
    context_path() = default;
    explicit context_path(std::string_view dotted);

    /// The value at this path, or nullptr when any step is missing.
    const boost::json::value* find(const routing_context& context) const noexcept;
    const std::string& text() const noexcept { return text_; }

private:
    std::string text_;
    std::vector<std::string> segments_;
    bool context_prefix_ = false; ///< the first segment is "context", which may be skipped
};

class condition
{
public:
    /// The always-true condition (`{}`).
    condition();

    bool evaluate(const routing_context& context) const noexcept;

    /// The JSON this was compiled from, for listing and round-trips.
    const boost::json::value& source() const noexcept { return source_; }

private:
    friend struct condition_compiler;
    friend policy_result<condition> compile_condition(const boost::json::value&, std::string_view);

    enum class op : std::uint8_t
    {
        literal,
        var,
        eq,
        ne,
        gt,
        lt,
        ge,
        le,
        in,
        all,
        any,
        not_,
        key_equals,
        key_member,
    };

    struct node
    {
        op kind = op::literal;
        std::uint32_t child_begin = 0; ///< into children_
        std::uint32_t child_count = 0;
        std::uint32_t path = 0;    ///< var, key_*: into paths_
        std::uint32_t literal = 0; ///< literal, key_*: into literals_
    };

    struct term;
    term value_of(std::uint32_t n, const routing_context& context) const noexcept;
    bool truth_of(std::uint32_t n, const routing_context& context) const noexcept;

    std::vector<node> nodes_; ///< empty = always true; otherwise the root is the last node
    std::vector<std::uint32_t> children_;
    std::vector<boost::json::value> literals_;
    std::vector<context_path> paths_;
    boost::json::value source_;
};

/// Compiles a `when`. `where` prefixes error messages, e.g. "fallbacks[0].when".
policy_result<condition> compile_condition(const boost::json::value& when, std::string_view where);

} // namespace beamline::router
