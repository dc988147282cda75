-- code.lua - a pandoc Lua filter: the slides' code and output come from the
-- workbook itself, never typed in by hand.
--
--   ```{.c file="chapters/ch05/select_crawler.c" function="main"}
--   ```
--       the function as it is in the file (from its first line to the
--       closing brace in column 0), indentation kept;
--   ```{.c file="..." function="crawl" paragraph="wait until any socket is ready"}
--   ```
--       one paragraph of that function: from the heading comment that
--       contains the words to the next blank line or to the first line
--       indented less than that comment (a block's closing "}"), its
--       indentation removed;
--   ```{.c file="..." region="NAME"}
--   ```
--       the lines between "/* region: NAME */" and "/* end region: NAME */";
--   ```{.output run="./ch03/sequential_fetch -n 4"}
--   ```
--       what the command prints (stdout and stderr), run when the deck is
--       built, from the top of the tree, with LAB_URL set by `make slides`;
--       a command that fails fails the build, unless status="N" says which
--       exit status it is expected to end with; a command whose output
--       says its times are "not a fair race" (a busy machine) is run again,
--       up to 5 times (see `run` below).
--
-- Anything missing or ambiguous, a block larger than the deck's metadata
-- allows (code-lines, code-columns; 16 x 64 by default), or a code block
-- with neither file nor run (unless it has the class "pseudo", for
-- pseudo-code that says so) stops the build with the deck's name and line.

local deck = PANDOC_STATE.input_files[1] or "stdin"
local max_lines, max_columns = 16, 64

-- The deck's own lines, to say where a block stands.
local deck_lines = {}
do
  local f = io.open(deck, "r")
  if f then
    for line in f:lines() do
      deck_lines[#deck_lines + 1] = line
    end
    f:close()
  end
end

-- The line of the deck that holds a block: the first line that names both
-- of the block's defining attributes.
local function where(attrs)
  for n, line in ipairs(deck_lines) do
    local all = true
    for _, value in ipairs(attrs) do
      if not line:find(value, 1, true) then
        all = false
      end
    end
    if all then
      return deck .. ":" .. n
    end
  end
  return deck
end

local function fail(at, message)
  io.stderr:write("slides: " .. at .. ": " .. message .. "\n")
  os.exit(1)
end

local function read_lines(path, at)
  local f = io.open(path, "r")
  if not f then
    fail(at, "no such file: " .. path)
  end
  local lines = {}
  for line in f:lines() do
    lines[#lines + 1] = line
  end
  f:close()
  return lines
end

-- Plain-text search: does the line contain the words as they are?
local function has(line, words)
  return line:find(words, 1, true) ~= nil
end

-- The lines of one function: its definition starts in column 0 with the
-- name followed by "(", does not end with ";", and ends at the first "}"
-- in column 0.
local function find_function(lines, name, at, path)
  local found = {}
  for n, line in ipairs(lines) do
    local starts = line:match("^[%a_]") ~= nil
    local named = line:find("[%s%*]" .. name .. "%(") or line:find("^" .. name .. "%(")
    if starts and named and not line:match(";%s*$") then
      found[#found + 1] = n
    end
  end
  if #found == 0 then
    fail(at, path .. ": no function named '" .. name .. "'")
  end
  if #found > 1 then
    fail(at, path .. ": '" .. name .. "' is defined " .. #found .. " times")
  end
  local first = found[1]
  for n = first, #lines do
    if lines[n]:match("^}") then
      return first, n
    end
  end
  fail(at, path .. ": function '" .. name .. "' has no closing brace in column 0")
end

-- Within lines first..last, the paragraph whose heading comment holds the
-- words: from that comment to the line before the next blank line, or
-- before the first line indented less than the comment (the "}" that
-- closes the block the paragraph ends, and whatever follows the block).
local function find_paragraph(lines, first, last, words, at, path)
  local found = {}
  for n = first, last do
    if lines[n]:match("^%s*/%*") and has(lines[n], words) then
      found[#found + 1] = n
    end
  end
  if #found ~= 1 then
    local what = #found == 0 and "no heading comment" or #found .. " heading comments"
    fail(at, path .. ": " .. what .. " with '" .. words .. "'")
  end
  local indent = #lines[found[1]]:match("^%s*")
  local stop = found[1]
  while stop < last do
    local lead = lines[stop + 1]:match("^(%s*)%S")
    if not lead or #lead < indent then
      break
    end
    stop = stop + 1
  end
  return found[1], stop
end

local function find_region(lines, name, at, path)
  local open, close
  for n, line in ipairs(lines) do
    if has(line, "/* region: " .. name .. " */") then
      open = n
    elseif has(line, "/* end region: " .. name .. " */") then
      close = n
    end
  end
  if not open or not close or close <= open + 1 then
    fail(at, path .. ": no region '" .. name .. "' (/* region: " .. name ..
      " */ ... /* end region: " .. name .. " */)")
  end
  return open + 1, close - 1
end

-- Remove the indentation every line shares; say how much was removed.
local function dedent(lines, first, last)
  local indent
  for n = first, last do
    local lead = lines[n]:match("^( *)%S")
    if lead and (not indent or #lead < indent) then
      indent = #lead
    end
  end
  indent = indent or 0
  local out = {}
  for n = first, last do
    out[#out + 1] = lines[n]:sub(indent + 1)
  end
  return out, indent
end

local function check_size(text_lines, at, what)
  if #text_lines > max_lines then
    fail(at, what .. " has " .. #text_lines .. " lines; a slide shows " .. max_lines ..
      " (choose a paragraph or a region)")
  end
  for n, line in ipairs(text_lines) do
    if utf8.len(line) and utf8.len(line) > max_columns then
      fail(at, what .. ", line " .. n .. ", has " .. utf8.len(line) ..
        " columns; a slide shows " .. max_columns)
    end
  end
end

local function include(block)
  local a = block.attributes
  local path = a.file
  local at = where({ path, a["function"] or a.region or "" })
  local lines = read_lines(path, at)
  local first, last, what
  if a.region then
    first, last = find_region(lines, a.region, at, path)
    what = path .. " region " .. a.region
  elseif a["function"] then
    first, last = find_function(lines, a["function"], at, path)
    what = path .. " " .. a["function"] .. "()"
    if a.paragraph then
      first, last = find_paragraph(lines, first, last, a.paragraph, at, path)
      what = what .. " paragraph '" .. a.paragraph .. "'"
    end
  else
    fail(at, path .. ": say which function (function=\"NAME\") or region (region=\"NAME\")")
  end
  local text_lines, indent = dedent(lines, first, last)
  check_size(text_lines, at, what)
  block.text = table.concat(text_lines, "\n")
  -- where it came from, for the tests that trace every block to its source
  block.attributes["data-source"] = path
  block.attributes["data-first-line"] = tostring(first)
  block.attributes["data-indent"] = tostring(indent)
  return block
end

-- Run a command once, from the top of the tree: its exit status and what
-- it printed (stdout and stderr), trailing blank space removed.
local function run_once(command, limit)
  -- LC_ALL=C: the timeline in ASCII, which every monospace font draws;
  -- COLUMNS: the timeline as wide as a slide's code box.
  local quoted = "'" .. command:gsub("'", "'\\''") .. "'"
  local shell = "LC_ALL=C COLUMNS=" .. (max_columns + 2) .. " timeout " .. limit ..
    " bash -c " .. quoted .. " 2>&1; echo \"@@status $?\""
  local pipe = io.popen(shell, "r")
  local out = pipe:read("a")
  pipe:close()
  local status = tonumber(out:match("@@status (%d+)%s*$"))
  out = out:gsub("@@status %d+%s*$", ""):gsub("%s+$", "")
  return status, out
end

-- A program that times CPU work says so when other programs kept it from
-- the CPU (chapters/ch02/chew.h): "... these times are not a fair race".
-- Such a run is run again, a little later each time (SLIDES_FAIR_WAIT
-- seconds, 2 unless set, then twice that, ...). If no run was fair, the
-- slide shows the last one, note and all, and the build says so on stderr;
-- with SLIDES_REQUIRE_FAIR=1 the build stops instead.
local fair_tries = 5
local fair_wait = tonumber(os.getenv("SLIDES_FAIR_WAIT") or "") or 2
local require_fair = os.getenv("SLIDES_REQUIRE_FAIR") == "1"

local function unfair(out)
  return out:gsub("%s+", " "):find("not a fair race", 1, true) ~= nil
end

local function run(block)
  local command = block.attributes.run
  local expected = tonumber(block.attributes.status or "0")
  local at = where({ command })
  local limit = block.attributes.timeout or "60"
  local status, out
  for try = 1, fair_tries do
    status, out = run_once(command, limit)
    if status ~= expected then
      fail(at, "'" .. command .. "' ended with status " .. tostring(status) ..
        " (expected " .. expected .. "):\n" .. out)
    end
    if not unfair(out) then
      break
    end
    if try == fair_tries then
      local why = "'" .. command .. "' was not a fair race in any of " .. fair_tries ..
        " runs: other programs kept it from the CPU"
      if require_fair then
        fail(at, why .. "; build the deck again when the machine is quieter." ..
          " Its last run printed:\n" .. out)
      end
      -- the slide shows the program's own note, which says as much
      io.stderr:write("slides: " .. at .. ": " .. why .. "; the slide shows the" ..
        " last run, with its note (build again when the machine is quieter)\n")
      break
    end
    local wait = fair_wait * try
    io.stderr:write("slides: " .. at .. ": '" .. command .. "' was not a fair race" ..
      " (run " .. try .. " of " .. fair_tries .. "); running it again in " .. wait .. " s\n")
    os.execute("sleep " .. wait)
  end
  local text_lines = {}
  for line in (out .. "\n"):gmatch("(.-)\n") do
    text_lines[#text_lines + 1] = line
  end
  check_size(text_lines, at, "the output of '" .. command .. "'")
  block.text = out
  block.attributes["data-run"] = command
  return block
end

return {
  {
    Meta = function(meta)
      if meta["code-lines"] then
        max_lines = tonumber(pandoc.utils.stringify(meta["code-lines"]))
      end
      if meta["code-columns"] then
        max_columns = tonumber(pandoc.utils.stringify(meta["code-columns"]))
      end
    end,
  },
  {
    CodeBlock = function(block)
      if block.attributes.file then
        return include(block)
      end
      if block.attributes.run then
        return run(block)
      end
      if block.classes:includes("pseudo") then
        return block
      end
      fail(where({ block.text:match("[^\n]*") }),
        "a code block must name its source (file=...) or its command (run=...), " ..
        "or be marked {.pseudo} for pseudo-code that says so")
    end,
  },
}
