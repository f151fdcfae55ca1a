#include <algorithm>
#include <array>
#include <beamline/router/conditions.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <utility>

namespace beamline::router
{

namespace json = boost::json;

context_path::context_path(std::string_view dotted) : text_(dotted)
{
    std::size_t start = 0;
    while (true)
    {
        auto dot = dotted.find('.', start);
        segments_.emplace_back(dotted.substr(start, dot == std::string_view::npos ? dot : dot - start));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    context_prefix_ = segments_.size() > 1 && segments_.front() == "context";
}

namespace
{

const json::value* step(const json::value& at, const std::string& segment) noexcept
{
    if (const auto* obj = at.if_object())
    {
        auto it = obj->find(segment);
        return it == obj->end() ? nullptr : &it->value();
    }
    if (const auto* arr = at.if_array())
    {
        std::size_t index = 0;
        auto [end, ec] = std::from_chars(segment.data(), segment.data() + segment.size(), index);
        if (ec != std::errc{} || end != segment.data() + segment.size() || index >= arr->size())
            return nullptr;
        return &(*arr)[index];
    }
    return nullptr;
}

const json::value* walk(const routing_context& context, const std::vector<std::string>& segments,
                        std::size_t first) noexcept
{
    const json::value* at = context.find(segments[first]);
    for (std::size_t i = first + 1; at && i < segments.size(); ++i)
        at = step(*at, segments[i]);
    return at;
}

} // namespace

const json::value* context_path::find(const routing_context& context) const noexcept
{
    if (segments_.empty()) return nullptr;
    if (const auto* found = walk(context, segments_, 0)) return found;
    return context_prefix_ ? walk(context, segments_, 1) : nullptr;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

struct condition::term
{
    enum class kind : std::uint8_t
    {
        missing,
        value,
        boolean,
    } k = kind::missing;
    const json::value* v = nullptr;
    bool b = false;
};

namespace
{

bool is_number(const json::value& v) noexcept
{
    return v.is_int64() || v.is_uint64() || v.is_double();
}

/// -1, 0, 1; integers compare exactly, anything involving a double compares as double.
int compare_numbers(const json::value& a, const json::value& b) noexcept
{
    if (a.is_int64() && b.is_int64())
        return a.get_int64() < b.get_int64() ? -1 : a.get_int64() > b.get_int64();
    if (a.is_uint64() && b.is_uint64())
        return a.get_uint64() < b.get_uint64() ? -1 : a.get_uint64() > b.get_uint64();
    if (a.is_int64() && b.is_uint64())
        return a.get_int64() < 0 || std::uint64_t(a.get_int64()) < b.get_uint64()
                   ? -1
                   : std::uint64_t(a.get_int64()) > b.get_uint64();
    if (a.is_uint64() && b.is_int64()) return -compare_numbers(b, a);
    double x = a.to_number<double>(), y = b.to_number<double>();
    return x < y ? -1 : x > y;
}

bool values_equal(const json::value& a, const json::value& b) noexcept
{
    if (is_number(a) && is_number(b)) return compare_numbers(a, b) == 0;
    return a == b;
}

} // namespace

condition::condition() : source_(json::object{}) {}

condition::term condition::value_of(std::uint32_t n, const routing_context& context) const noexcept
{
    const node& nd = nodes_[n];
    switch (nd.kind)
    {
    case op::literal:
        return {term::kind::value, &literals_[nd.literal], false};
    case op::var:
    {
        const auto* found = paths_[nd.path].find(context);
        return found ? term{term::kind::value, found, false} : term{};
    }
    default:
        return {term::kind::boolean, nullptr, truth_of(n, context)};
    }
}

bool condition::truth_of(std::uint32_t n, const routing_context& context) const noexcept
{
    const node& nd = nodes_[n];
    auto child = [&](std::uint32_t i) { return children_[nd.child_begin + i]; };
    switch (nd.kind)
    {
    case op::literal:
    case op::var:
    {
        auto t = value_of(n, context);
        return t.k == term::kind::value && t.v->is_bool() && t.v->get_bool();
    }
    case op::all:
        for (std::uint32_t i = 0; i < nd.child_count; ++i)
            if (!truth_of(child(i), context)) return false;
        return true;
    case op::any:
        for (std::uint32_t i = 0; i < nd.child_count; ++i)
            if (truth_of(child(i), context)) return true;
        return false;
    case op::not_:
        return !truth_of(child(0), context);
    case op::key_equals:
    case op::key_member:
    {
        const auto* found = paths_[nd.path].find(context);
        if (!found) return false;
        const auto& expected = literals_[nd.literal];
        if (nd.kind == op::key_equals) return values_equal(*found, expected);
        for (const auto& candidate : expected.get_array())
            if (values_equal(*found, candidate)) return true;
        return false;
    }
    default:
        break;
    }

    // Binary operators over terms.
    auto lhs = value_of(child(0), context);
    auto rhs = value_of(child(1), context);
    if (lhs.k == term::kind::missing || rhs.k == term::kind::missing) return false;
    if (lhs.k == term::kind::boolean || rhs.k == term::kind::boolean)
    {
        // A nested condition on either side compares as a boolean.
        auto as_bool = [](const term& t, bool& out)
        {
            if (t.k == term::kind::boolean) return out = t.b, true;
            if (t.v->is_bool()) return out = t.v->get_bool(), true;
            return false;
        };
        bool a = false, b = false;
        bool both = as_bool(lhs, a) && as_bool(rhs, b);
        if (nd.kind == op::eq) return both && a == b;
        if (nd.kind == op::ne) return !both || a != b;
        return false;
    }
    const json::value& a = *lhs.v;
    const json::value& b = *rhs.v;
    switch (nd.kind)
    {
    case op::eq:
        return values_equal(a, b);
    case op::ne:
        return !values_equal(a, b);
    case op::gt:
    case op::lt:
    case op::ge:
    case op::le:
    {
        int c = 0;
        if (is_number(a) && is_number(b))
            c = compare_numbers(a, b);
        else if (a.is_string() && b.is_string())
            c = a.get_string().compare(b.get_string());
        else
            return false;
        if (nd.kind == op::gt) return c > 0;
        if (nd.kind == op::lt) return c < 0;
        if (nd.kind == op::ge) return c >= 0;
        return c <= 0;
    }
    case op::in:
        if (const auto* arr = b.if_array())
        {
            for (const auto& candidate : *arr)
                if (values_equal(a, candidate)) return true;
            return false;
        }
        if (a.is_string() && b.is_string())
            return std::string_view(b.get_string()).find(std::string_view(a.get_string())) !=
                   std::string_view::npos;
        return false;
    default:
        return false;
    }
}

bool condition::evaluate(const routing_context& context) const noexcept
{
    if (nodes_.empty()) return true;
    return truth_of(static_cast<std::uint32_t>(nodes_.size() - 1), context);
}

// ---------------------------------------------------------------------------------------------
// Compilation

struct condition_compiler
{
    using op = condition::op;
    condition& out;

    struct operator_name
    {
        std::string_view name;
        op kind;
    };
    static constexpr std::array<operator_name, 11> operators{{
        {"==", op::eq},
        {"!=", op::ne},
        {">", op::gt},
        {"<", op::lt},
        {">=", op::ge},
        {"<=", op::le},
        {"in", op::in},
        {"all", op::all},
        {"any", op::any},
        {"not", op::not_},
        {"var", op::var},
    }};

    /// Operators of the wider JsonLogic family that a policy author may reach for. Read as context
    /// paths they would silently never match, so they are refused, as is any key that cannot be a
    /// path ("===", "!").
    static constexpr std::array<std::string_view, 3> unsupported{"and", "or", "if"};

    static bool is_path_text(std::string_view key) noexcept
    {
        for (char c : key)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-' || c == '.' || c == '$' || c == ':' || c == '@'))
                return false;
        return true;
    }

    static const operator_name* find_operator(std::string_view key) noexcept
    {
        for (const auto& o : operators)
            if (o.name == key) return &o;
        return nullptr;
    }

    static policy_error fail(std::string_view where, std::string_view what)
    {
        return {std::string(where) + ": " + std::string(what)};
    }

    std::uint32_t push(condition::node n, const std::vector<std::uint32_t>& kids = {})
    {
        n.child_begin = static_cast<std::uint32_t>(out.children_.size());
        n.child_count = static_cast<std::uint32_t>(kids.size());
        out.children_.insert(out.children_.end(), kids.begin(), kids.end());
        out.nodes_.push_back(n);
        return static_cast<std::uint32_t>(out.nodes_.size() - 1);
    }

    std::uint32_t push_literal(const json::value& v)
    {
        out.literals_.push_back(v);
        condition::node n;
        n.kind = op::literal;
        n.literal = static_cast<std::uint32_t>(out.literals_.size() - 1);
        return push(n);
    }

    policy_result<std::uint32_t> push_path(op kind, const json::value& path_value, std::string_view where)
    {
        const json::value* p = &path_value;
        if (const auto* arr = p->if_array(); arr && arr->size() == 1) p = &arr->front();
        if (!p->is_string() || p->get_string().empty())
            return fail(where, "var needs a non-empty path string such as \"a.b\"");
        out.paths_.emplace_back(std::string_view(p->get_string()));
        condition::node n;
        n.kind = kind;
        n.path = static_cast<std::uint32_t>(out.paths_.size() - 1);
        return push(n);
    }

    /// An operand of a comparison: a literal, a var, or a nested condition.
    policy_result<std::uint32_t> operand(const json::value& v, std::string_view where)
    {
        if (const auto* obj = v.if_object(); obj && !obj->empty()) return condition_node(v, where);
        return push_literal(v);
    }

    policy_result<std::uint32_t> operator_node(const operator_name& o, const json::value& args,
                                               std::string where)
    {
        where += '.';
        where += o.name;
        switch (o.kind)
        {
        case op::var:
            return push_path(op::var, args, where);
        case op::not_:
        {
            const json::value* inner = &args;
            if (const auto* arr = args.if_array())
            {
                if (arr->size() != 1) return fail(where, "not takes exactly one condition");
                inner = &arr->front();
            }
            auto kid = condition_node(*inner, where);
            if (kid.has_error()) return kid;
            condition::node n;
            n.kind = op::not_;
            return push(n, {*kid});
        }
        case op::all:
        case op::any:
        {
            const auto* arr = args.if_array();
            if (!arr || arr->empty())
                return fail(where, std::string(o.name) + " takes a non-empty array of conditions");
            std::vector<std::uint32_t> kids;
            for (std::size_t i = 0; i < arr->size(); ++i)
            {
                auto kid = condition_node((*arr)[i], where + "[" + std::to_string(i) + "]");
                if (kid.has_error()) return kid;
                kids.push_back(*kid);
            }
            condition::node n;
            n.kind = o.kind;
            return push(n, kids);
        }
        default:
        {
            const auto* arr = args.if_array();
            if (!arr || arr->size() != 2)
                return fail(where, std::string(o.name) + " takes an array of exactly two operands");
            if (o.kind == op::in && !(*arr)[1].is_object() && !(*arr)[1].is_array() && !(*arr)[1].is_string())
                return fail(where, "in needs an array (or a string) on the right");
            auto lhs = operand((*arr)[0], where + "[0]");
            if (lhs.has_error()) return lhs;
            auto rhs = operand((*arr)[1], where + "[1]");
            if (rhs.has_error()) return rhs;
            condition::node n;
            n.kind = o.kind;
            return push(n, {*lhs, *rhs});
        }
        }
    }

    policy_result<std::uint32_t> key_node(std::string_view key, const json::value& expected,
                                          std::string_view where)
    {
        std::string at = std::string(where) + "." + std::string(key);
        if (key.empty()) return fail(where, "an empty key is not a context path");
        if (!is_path_text(key) || std::find(unsupported.begin(), unsupported.end(), key) != unsupported.end())
            return fail(at, "unknown operator '" + std::string(key) +
                                "' (known: ==, !=, >, <, >=, <=, in, all, any, not, var)");
        if (expected.is_object())
            return fail(at, "unknown operator '" + std::string(key) +
                                "', or a key-form value that is an object (use a scalar or an array)");
        out.paths_.emplace_back(key);
        out.literals_.push_back(expected);
        condition::node n;
        n.kind = expected.is_array() ? op::key_member : op::key_equals;
        n.path = static_cast<std::uint32_t>(out.paths_.size() - 1);
        n.literal = static_cast<std::uint32_t>(out.literals_.size() - 1);
        return push(n);
    }

    policy_result<std::uint32_t> condition_node(const json::value& v, std::string_view where)
    {
        if (v.is_bool()) return push_literal(v);
        const auto* obj = v.if_object();
        if (!obj) return fail(where, "a condition must be an object or a boolean, got " + json::serialize(v));
        if (obj->empty()) return push_literal(json::value(true));
        std::vector<std::uint32_t> kids;
        for (const auto& [key, arg] : *obj)
        {
            policy_result<std::uint32_t> kid = 0u;
            if (const auto* o = find_operator(key))
                kid = operator_node(*o, arg, std::string(where));
            else
                kid = key_node(key, arg, where);
            if (kid.has_error()) return kid;
            kids.push_back(*kid);
        }
        if (kids.size() == 1) return kids.front();
        condition::node n;
        n.kind = op::all;
        return push(n, kids);
    }
};

policy_result<condition> compile_condition(const json::value& when, std::string_view where)
{
    condition c;
    c.source_ = when;
    if (const auto* obj = when.if_object(); obj && obj->empty()) return c;
    condition_compiler compiler{c};
    auto root = compiler.condition_node(when, where);
    if (root.has_error()) return root.error();
    return c;
}

} // namespace beamline::router
