#include "beamline/router/detail/request_fields.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value_stack.hpp>
#include <cstring>
#include <functional>
#include <utility>

namespace beamline::router::detail
{
namespace json = boost::json;

namespace
{

/// `k` when `name`, whose length is the literal's, spells it: a comparison of known length, which
/// the compiler turns into a few word compares instead of a call.
template <std::size_t N>
std::optional<request_key> if_spelled(std::string_view name, const char (&literal)[N], request_key k) noexcept
{
    if (std::memcmp(name.data(), literal, N - 1) == 0) return k;
    return std::nullopt;
}

std::size_t kept_slot(request_key k) noexcept
{
    switch (k)
    {
    case request_key::constraints: return 0;
    case request_key::metadata: return 1;
    default: return 2; // options
    }
}

/// The task's members intake checks.
enum class task_member : unsigned char
{
    other,
    type,
    payload,
    payload_ref,
};

task_member task_member_of(std::string_view name) noexcept
{
    if (name == "type") return task_member::type;
    if (name == "payload") return task_member::payload;
    if (name == "payload_ref") return task_member::payload_ref;
    return task_member::other;
}

bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// The quote that closes a string whose text starts at `p`; nullptr if there is none before `end`.
const char* string_end(const char* p, const char* end) noexcept
{
    for (;;)
    {
        const auto* quote = static_cast<const char*>(std::memchr(p, '"', static_cast<std::size_t>(end - p)));
        if (!quote) return nullptr;
        std::size_t backslashes = 0; // an odd run of them escapes the quote
        for (const char* b = quote; b > p && b[-1] == '\\'; --b)
            ++backslashes;
        if (backslashes % 2 == 0) return quote;
        p = quote + 1;
    }
}

/// One past the bracket that closes the `depth` brackets open at `p` (outside any string), in JSON
/// the parser has read up to there; nullptr if there is none before `end`.
const char* close_of(const char* p, std::size_t depth, const char* end) noexcept
{
    for (; p < end; ++p)
    {
        switch (*p)
        {
        case '"':
            p = string_end(p + 1, end);
            if (!p) return nullptr;
            break;
        case '{':
        case '[':
            ++depth;
            break;
        case '}':
        case ']':
            if (depth == 0) return nullptr; // a closer of nothing opened: not the task's text
            if (--depth == 0) return p + 1;
            break;
        default:
            break;
        }
    }
    return nullptr;
}

/// basic_parser's handler: the request's own members go into their slots as they are read; the
/// value of a member kept as JSON is built on a value_stack (as json::parser builds a document);
/// a task object is kept as its text, with the kinds of the members intake checks; and everything
/// else (unknown members, containers where a scalar belongs) is only walked over.
class field_events
{
public:
    // The limits of json::parser's handler, so that a body fails here exactly when it would there.
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    field_events(std::string_view body, request_fields& out) noexcept
        : body_(body), out_(out), values_(json::storage_ptr(), stack_buffer_, sizeof stack_buffer_)
    {
    }

    /// Points the text of strings that held escapes into `out.unescaped`, now that it has stopped
    /// growing.
    void finish() noexcept
    {
        for (std::size_t i = 0; i < request_key_count; ++i)
            if (unescaped_members_ & (1u << i))
                out_.members[i].text = std::string_view(out_.unescaped).substr(unescaped_[i].first,
                                                                                unescaped_[i].second);
    }

    bool on_document_begin(json::error_code&) { return true; }
    bool on_document_end(json::error_code&) { return true; }

    bool on_object_begin(json::error_code& ec)
    {
        if (in_task_ && depth_ == 2) note_task(json::kind::object);
        if (!building_ && !in_task_ && depth_ == 1 && member_)
        {
            if (*member_ == request_key::task)
            {
                if (!begin_task()) return to_the_document(ec);
            }
            else if (kept_as_json(*member_))
            {
                values_.reset();
                building_ = true;
            }
            else
                set({.kind = json::kind::object});
        }
        ++depth_;
        return true;
    }

    bool on_object_end(std::size_t n, json::error_code& ec)
    {
        --depth_;
        if (building_)
        {
            values_.push_object(n);
            if (depth_ == 1) finish_kept();
        }
        else if (in_task_ && depth_ == 1 && !finish_task())
            return to_the_document(ec);
        return true;
    }

    bool on_array_begin(json::error_code& ec)
    {
        if (depth_ == 0) return to_the_document(ec);
        if (in_task_ && depth_ == 2) note_task(json::kind::array);
        if (!building_ && !in_task_ && depth_ == 1 && member_) set({.kind = json::kind::array});
        ++depth_;
        return true;
    }

    bool on_array_end(std::size_t n, json::error_code&)
    {
        --depth_;
        if (building_) values_.push_array(n);
        return true;
    }

    bool on_key_part(json::string_view s, std::size_t total, json::error_code&)
    {
        if (building_)
            values_.push_chars(s);
        else if (reads_keys() && total <= sizeof key_buffer_)
            std::memcpy(key_buffer_ + (total - s.size()), s.data(), s.size());
        return true;
    }

    bool on_key(json::string_view s, std::size_t total, json::error_code&)
    {
        if (building_)
        {
            values_.push_key(s);
            return true;
        }
        if (in_task_) past_token(s, total);
        if (!reads_keys()) return true;
        std::optional<std::string_view> name;
        if (total == s.size())
            name = s;
        else if (total <= sizeof key_buffer_)
        {
            std::memcpy(key_buffer_ + (total - s.size()), s.data(), s.size());
            name = std::string_view(key_buffer_, total);
        }
        if (in_task_)
        {
            task_member_ = name ? task_member_of(*name) : task_member::other;
            return true;
        }
        member_ = name ? request_key_of(*name) : std::nullopt;
        // The task's text is found from its key, when the key is the body's own bytes (no escapes).
        if (member_ == request_key::task)
            task_key_end_ = total == s.size() && in_body(s) ? s.data() + s.size() : nullptr;
        return true;
    }

    bool on_string_part(json::string_view s, std::size_t total, json::error_code&)
    {
        if (building_)
            values_.push_chars(s);
        else if (depth_ == 1 && member_)
        {
            if (total == s.size()) string_start_ = out_.unescaped.size();
            out_.unescaped.append(s);
        }
        return true;
    }

    bool on_string(json::string_view s, std::size_t total, json::error_code& ec)
    {
        if (building_)
            values_.push_string(s);
        else if (in_task_)
        {
            past_token(s, total);
            if (depth_ == 2)
            {
                note_task(json::kind::string);
                if (task_member_ == task_member::type) out_.task.type_empty = total == 0;
            }
        }
        else if (depth_ == 0)
            return to_the_document(ec);
        else if (depth_ == 1 && member_)
        {
            request_field f{.kind = json::kind::string};
            if (total == s.size() && in_body(s))
            {
                f.text = s;
                set(f);
                return true;
            }
            // Escapes were resolved into the parser's own buffer: keep a copy. Its address may
            // change while later strings are appended, so finish() sets the text.
            if (total == s.size()) string_start_ = out_.unescaped.size();
            out_.unescaped.append(s);
            set(f);
            const auto i = static_cast<std::size_t>(*member_);
            unescaped_[i] = {string_start_, total};
            unescaped_members_ |= 1u << i;
        }
        return true;
    }

    bool on_number_part(json::string_view, json::error_code&) { return true; }

    bool on_int64(std::int64_t i, json::string_view, json::error_code& ec)
    {
        if (!building_) return scalar({.kind = json::kind::int64, .int64 = i}, ec);
        values_.push_int64(i);
        return true;
    }

    bool on_uint64(std::uint64_t u, json::string_view, json::error_code& ec)
    {
        if (!building_) return scalar({.kind = json::kind::uint64}, ec);
        values_.push_uint64(u);
        return true;
    }

    bool on_double(double d, json::string_view, json::error_code& ec)
    {
        if (!building_) return scalar({.kind = json::kind::double_}, ec);
        values_.push_double(d);
        return true;
    }

    bool on_bool(bool b, json::error_code& ec)
    {
        if (!building_) return scalar({.kind = json::kind::bool_, .boolean = b}, ec);
        values_.push_bool(b);
        return true;
    }

    bool on_null(json::error_code& ec)
    {
        if (!building_) return scalar(request_field{}, ec); // null in a member reads as absent
        values_.push_null();
        return true;
    }

    bool on_comment_part(json::string_view, json::error_code&) { return true; }
    bool on_comment(json::string_view, json::error_code&) { return true; }

private:
    /// A number, flag or null outside the members kept as JSON.
    bool scalar(const request_field& f, json::error_code& ec)
    {
        if (depth_ == 0) return to_the_document(ec);
        if (in_task_)
        {
            if (depth_ == 2) note_task(f.kind);
        }
        else if (depth_ == 1 && member_)
            set(f);
        return true;
    }

    /// A body this reader leaves to the document path: one that is not an object (which the
    /// document parse reports in its words), or one whose task key holds escapes.
    static bool to_the_document(json::error_code& ec)
    {
        ec = json::error::syntax;
        return false;
    }

    /// The keys read: the request's members, and the members of a task object.
    bool reads_keys() const noexcept { return depth_ == 1 || (in_task_ && depth_ == 2); }

    /// The task object opens: its text starts at the '{' after its key.
    bool begin_task() noexcept
    {
        if (!task_key_end_) return false;
        const char* end = body_.data() + body_.size();
        const char* p = task_key_end_ + 1; // past the key's closing quote
        while (p < end && (is_blank(*p) || *p == ':'))
            ++p;
        if (p == end || *p != '{') return false;
        task_open_ = p;
        resume_ = p;
        resume_depth_ = 0;
        out_.task = {};
        task_member_ = task_member::other;
        in_task_ = true;
        return true;
    }

    /// A key or string inside the task, read in full: when it is the body's own bytes, the task's
    /// end is looked for from its closing quote on, not from the task's start.
    void past_token(std::string_view s, std::size_t total) noexcept
    {
        if (total != s.size() || s.empty() || !in_body(s)) return;
        const char* quote = s.data() + s.size();
        if (quote == body_.data() + body_.size() || *quote != '"') return;
        resume_ = quote + 1;
        resume_depth_ = depth_ - 1; // the brackets open from the task's own on
    }

    /// The task object has closed, so the parser has read all of it: its text is known.
    bool finish_task() noexcept
    {
        in_task_ = false;
        const char* close = close_of(resume_, resume_depth_, body_.data() + body_.size());
        if (!close) return false;
        set({.kind = json::kind::object,
             .text = std::string_view(task_open_, static_cast<std::size_t>(close - task_open_))});
        return true;
    }

    /// The kind of the task member whose value starts; null reads as absent, as in the document.
    void note_task(json::kind k) noexcept
    {
        switch (task_member_)
        {
        case task_member::type: out_.task.type = k; break; // on_string sets type_empty
        case task_member::payload: out_.task.payload = k; break;
        case task_member::payload_ref: out_.task.payload_ref = k; break;
        case task_member::other: break;
        }
    }

    /// Whether the parser handed over a piece of the body (no escapes), not of its own buffer.
    bool in_body(std::string_view s) const noexcept
    {
        std::less_equal<const char*> before_or_at; // a total order even across unrelated buffers
        return before_or_at(body_.data(), s.data()) &&
               before_or_at(s.data() + s.size(), body_.data() + body_.size());
    }

    /// A later duplicate replaces an earlier member, as it does in a parsed document.
    void set(const request_field& f) noexcept
    {
        const auto i = static_cast<std::size_t>(*member_);
        out_.members[i] = f;
        unescaped_members_ &= ~(1u << i);
    }

    void finish_kept()
    {
        json::value& kept = out_.kept[kept_slot(*member_)];
        json::value built = values_.release();
        kept.swap(built); // a swap of equal storage is a few stores; move-assignment makes a temporary
        building_ = false;
        set({.kind = json::kind::object, .value = &kept});
    }

    std::string_view body_;
    request_fields& out_;
    std::size_t depth_ = 0;            ///< 1 inside the request object, more inside its members
    std::optional<request_key> member_; ///< the member whose value is being read, if intake reads it
    bool building_ = false;            ///< inside a member kept as JSON: events go to values_
    bool in_task_ = false;             ///< inside the task object: only its members' kinds are noted
    task_member task_member_ = task_member::other; ///< the task member whose value is being read
    const char* task_key_end_ = nullptr; ///< where the task key's text ends in the body, if it is there
    const char* task_open_ = nullptr;    ///< the opening brace of the task object
    const char* resume_ = nullptr;       ///< where the task's end is looked for: past its last token seen
    std::size_t resume_depth_ = 0;       ///< the brackets of the task open there
    char key_buffer_[24];              ///< an escaped key, long enough for every member intake reads
    std::size_t string_start_ = 0;      ///< where the string being read begins in out.unescaped
    std::uint32_t unescaped_members_ = 0; ///< the members whose text is in out.unescaped
    std::pair<std::size_t, std::size_t> unescaped_[request_key_count]; ///< offset and size in out.unescaped
    unsigned char stack_buffer_[1024];
    json::value_stack values_;
};

} // namespace

std::optional<request_key> request_key_of(std::string_view name) noexcept
{
    // The length, then a letter where two members share it, leave one candidate to compare.
    using k = request_key;
    switch (name.size())
    {
    case 4: return if_spelled(name, "task", k::task);
    case 6: return if_spelled(name, "run_id", k::run_id);
    case 7:
        switch (name[0])
        {
        case 'v': return if_spelled(name, "version", k::version);
        case 'f': return if_spelled(name, "flow_id", k::flow_id);
        case 's': return if_spelled(name, "step_id", k::step_id);
        case 'o': return if_spelled(name, "options", k::options);
        default: return std::nullopt;
        }
    case 8:
        if (name[0] == 't') return if_spelled(name, "trace_id", k::trace_id);
        return if_spelled(name, "metadata", k::metadata);
    case 9:
        if (name[0] == 't') return if_spelled(name, "tenant_id", k::tenant_id);
        return if_spelled(name, "policy_id", k::policy_id);
    case 10: return if_spelled(name, "request_id", k::request_id);
    case 11: return if_spelled(name, "constraints", k::constraints);
    case 15:
        if (name[0] == 'i') return if_spelled(name, "idempotency_key", k::idempotency_key);
        return if_spelled(name, "push_assignment", k::push_assignment);
    case 18: return if_spelled(name, "assignment_subject", k::assignment_subject);
    default: return std::nullopt;
    }
}

task_shape task_shape::of(const json::object& task) noexcept
{
    auto kind_of = [&](std::string_view key)
    {
        const json::value* v = task.if_contains(key);
        return v ? v->kind() : json::kind::null;
    };
    const json::value* type = task.if_contains("type");
    return {.type = type ? type->kind() : json::kind::null,
            .type_empty = type && type->is_string() && type->get_string().empty(),
            .payload = kind_of("payload"),
            .payload_ref = kind_of("payload_ref")};
}

void read_fields(json::object& root, request_fields& out)
{
    for (json::key_value_pair& m : root)
    {
        const auto k = request_key_of(m.key());
        if (!k) continue;
        json::value& v = m.value();
        request_field& f = out[*k];
        f = {.kind = v.kind()};
        if (v.is_string())
            f.text = v.get_string();
        else if (v.is_bool())
            f.boolean = v.get_bool();
        else if (v.is_int64())
            f.int64 = v.get_int64();
        else if (v.is_object() && kept_as_json(*k))
            f.value = &v;
        else if (v.is_object() && *k == request_key::task)
        {
            out.task = task_shape::of(v.get_object());
            out.task_text = json::serialize(v);
            f.text = out.task_text;
        }
    }
}

bool read_fields(std::string_view body, request_fields& out)
{
    json::basic_parser<field_events> parser(json::parse_options{}, body, out);
    json::error_code ec;
    const std::size_t used = parser.write_some(false, body.data(), body.size(), ec);
    if (ec || used != body.size()) return false; // what json::parse calls extra data, or worse
    parser.handler().finish();
    return true;
}

} // namespace beamline::router::detail
