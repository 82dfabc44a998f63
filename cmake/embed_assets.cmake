# Writes a C++ source that holds text files as raw string literals, so the
# HTML report's script, style and body stay real .js/.css/.html files that
# editors, linters and `node --check` see, and the binary still opens
# nothing at run time.
#
# cmake -DOUT=file.cc -DHEADER=name.h -DNAMESPACE=ns
#       -DASSETS="kName=path;kOther=path" -P embed_assets.cmake
set(delim "tcpscribe_asset")
set(text "// Generated at build time by cmake/embed_assets.cmake: edit the asset files instead.\n")
string(APPEND text "#include \"${HEADER}\"\n\nnamespace ${NAMESPACE} {\n")
foreach(pair IN LISTS ASSETS)
  string(REGEX MATCH "^([A-Za-z_][A-Za-z0-9_]*)=(.+)$" ok "${pair}")
  if(NOT ok)
    message(FATAL_ERROR "embed_assets: '${pair}' is not NAME=PATH")
  endif()
  set(name "${CMAKE_MATCH_1}")
  set(path "${CMAKE_MATCH_2}")
  file(READ "${path}" content)
  string(FIND "${content}" ")${delim}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "embed_assets: ${path} contains the literal's end marker )${delim}\"")
  endif()
  string(APPEND text "\nextern const char ${name}[];\nconst char ${name}[] = R\"${delim}(${content})${delim}\";\n")
endforeach()
string(APPEND text "\n}  // namespace ${NAMESPACE}\n")
# Only rewrite when the text changed, so an unchanged asset rebuilds nothing.
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${text}")
