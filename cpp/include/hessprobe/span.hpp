// A minimal std::span stand-in (C++17 has none): a pointer and a length.
#pragma once

#include <cstddef>

namespace hessprobe {

template <class T>
struct Span {
    T* data = nullptr;
    std::size_t size = 0;
    T& operator[](std::size_t i) const { return data[i]; }
    T* begin() const { return data; }
    T* end() const { return data + size; }
};

}  // namespace hessprobe
