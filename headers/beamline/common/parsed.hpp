#pragma once
// The outcome of parsing operator-written text: a value, or a sentence saying what was expected
// (`"5x" is not a duration (use 500ms, 5s, 2m, 1h or 1d)`) that the caller prefixes with the key or
// flag the text came from.

#include <string>
#include <variant>

namespace beamline::common
{

template <class T>
struct parsed
{
    std::variant<T, std::string> outcome;

    bool ok() const noexcept { return outcome.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    const T& value() const { return std::get<0>(outcome); }
    T& value() { return std::get<0>(outcome); }
    const std::string& error() const { return std::get<1>(outcome); }
};

} // namespace beamline::common
