using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ModelPlatform.IntegrationTests;

/// <summary>A curl command of README.md: its line, its shell text without comments, and the answer the README shows.</summary>
internal sealed record ReadmeCommand(int Line, string Shell, string? Answer);

/// <summary>A ```bash block of README.md that runs curl, with the heading it sits under.</summary>
internal sealed record ReadmeBlock(int Line, string Heading, IReadOnlyList<ReadmeCommand> Commands);

/// <summary>
/// README.md as the walkthrough test reads it (the copy beside the test assembly, so editing the README changes the test).
/// The conventions it relies on:
/// <list type="bullet">
/// <item>Every ```bash block that runs <c>curl</c> is run, in document order; a command spans the lines its quotes or
/// trailing backslashes join, and each is one curl command to one service, or an <c>export NAME=value</c> that sets a
/// variable for the commands after it.</item>
/// <item>A command's answer is either the ```json block right after its block (for the block's last command), or the
/// <c>#</c> comment lines right after it (JSON, or CSV lines for a CSV answer). Comments on a command's own line are
/// prose.</item>
/// <item>In an answer, <c>…</c> as a member, an element or a whole value means "anything", and a string with <c>…</c> in it
/// is a value that changes from run to run (an id, a hash, a time).</item>
/// <item>A string ending in <c>…</c> in an answer, such as <c>"id":"01a2…"</c>, is a placeholder: a later command that
/// contains the same text gets the real value found at the same place in the real answer.</item>
/// <item>Each service's port comes from the table of rows <c>| name | http://localhost:port | …</c>.</item>
/// </list>
/// </summary>
internal static partial class Readme
{
    public const string Elision = "…";

    public static string[] Lines() => File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "README.md"));

    /// <summary>Which service each <c>localhost:port</c> of the README is, from its table of services.</summary>
    public static Dictionary<string, string> ServicePorts() =>
        Lines().Select(line => ServiceRow().Match(line)).Where(match => match.Success)
            .ToDictionary(match => match.Groups["address"].Value, match => match.Groups["service"].Value);

    /// <summary>Every ```bash block that runs curl, in document order.</summary>
    public static List<ReadmeBlock> CurlBlocks()
    {
        var lines = Lines();
        var blocks = new List<ReadmeBlock>();
        var heading = "";
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith('#'))
            {
                heading = lines[i].TrimStart('#').Trim();
            }

            if (Fence().Match(lines[i]) is not { Success: true } fence)
            {
                continue;
            }

            var content = FenceContent(lines, ref i, fence.Groups["indent"].Length);
            if (fence.Groups["info"].Value != "bash" || !content.Any(line => line.TrimStart().StartsWith("curl ", StringComparison.Ordinal)
                    || line.StartsWith("export ", StringComparison.Ordinal)))
            {
                continue;
            }

            var commands = SplitCommands(content, firstLine: i - content.Count + 1);
            var next = i + 1;
            while (next < lines.Length && lines[next].Trim().Length == 0)
            {
                next++;
            }

            if (next < lines.Length && Fence().Match(lines[next]) is { Success: true } answer && answer.Groups["info"].Value == "json")
            {
                commands[^1] = commands[^1] with { Answer = string.Join('\n', FenceContent(lines, ref next, answer.Groups["indent"].Length)) };
            }

            blocks.Add(new ReadmeBlock(i - content.Count, heading, commands));
        }

        return blocks;
    }

    /// <summary>
    /// Reads an answer as the README writes it: JSON in which a bare <c>…</c> (a member or an element) becomes the
    /// member <c>"…":"…"</c> or the element <c>"…"</c>, so that it parses.
    /// </summary>
    public static JsonNode ParseAnswer(string text)
    {
        var json = new StringBuilder();
        var open = new Stack<char>();
        var inString = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                json.Append(c);
                if (c == '\\')
                {
                    json.Append(text[++i]);
                }
                else if (c == '"')
                {
                    inString = false;
                }

                continue;
            }

            switch (c)
            {
                case '"':
                    inString = true;
                    break;
                case '{' or '[':
                    open.Push(c);
                    break;
                case '}' or ']':
                    open.Pop();
                    break;
                case '…':
                    json.Append(open.Peek() == '{' ? $"\"{Elision}\":\"{Elision}\"" : $"\"{Elision}\"");
                    continue;
            }

            json.Append(c);
        }

        return JsonNode.Parse(json.ToString())!;
    }

    /// <summary>
    /// Where <paramref name="real"/> does not have the shape the README shows in <paramref name="documented"/>: the same
    /// members (more only where the README writes <c>…</c>, or, with <paramref name="openTop"/>, at the top), the same
    /// number of elements, numbers where it shows numbers, and the same strings unless they hold <c>…</c>.
    /// Numbers are compared by kind only: scores, metrics and versions are not the README's to fix.
    /// </summary>
    public static List<string> ShapeDifferences(JsonNode? documented, JsonNode? real, string path = "$", bool openTop = false)
    {
        var differences = new List<string>();
        switch (documented)
        {
            case JsonValue value when value.TryGetValue<string>(out var text) && text.Contains(Elision, StringComparison.Ordinal):
                if (real is null || (text != Elision && real.GetValueKind() != System.Text.Json.JsonValueKind.String))
                {
                    differences.Add($"{path}: the README shows {text}, the answer has {Show(real)}");
                }

                break;
            case JsonObject members:
                if (real is not JsonObject realMembers)
                {
                    differences.Add($"{path}: the README shows an object, the answer has {Show(real)}");
                    break;
                }

                foreach (var (name, expected) in members.Where(member => member.Key != Elision))
                {
                    if (realMembers.TryGetPropertyValue(name, out var actual))
                    {
                        differences.AddRange(ShapeDifferences(expected, actual, $"{path}.{name}"));
                    }
                    else
                    {
                        differences.Add($"{path}: the answer has no member '{name}'");
                    }
                }

                var unshown = realMembers.Select(member => member.Key).Where(name => !members.ContainsKey(name)).ToList();
                if (!members.ContainsKey(Elision) && !openTop && unshown.Count > 0)
                {
                    differences.Add($"{path}: the answer has members the README does not show: {string.Join(", ", unshown)}");
                }

                break;
            case JsonArray elements:
                if (real is not JsonArray realElements)
                {
                    differences.Add($"{path}: the README shows an array, the answer has {Show(real)}");
                    break;
                }

                var more = elements.Count > 0 && elements[^1] is JsonValue last && last.TryGetValue<string>(out var tail) && tail == Elision;
                var shown = more ? elements.Count - 1 : elements.Count;
                if (more ? realElements.Count < shown : realElements.Count != shown)
                {
                    differences.Add($"{path}: the README shows {shown} elements{(more ? " or more" : "")}, the answer has {realElements.Count}");
                    break;
                }

                for (var i = 0; i < shown; i++)
                {
                    differences.AddRange(ShapeDifferences(elements[i], realElements[i], $"{path}[{i}]"));
                }

                break;
            default:
                var kind = documented?.GetValueKind() ?? System.Text.Json.JsonValueKind.Null;
                var realKind = real?.GetValueKind() ?? System.Text.Json.JsonValueKind.Null;
                var sameKind = kind == realKind || (kind is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False
                    && realKind is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False);
                if (!sameKind || (kind == System.Text.Json.JsonValueKind.String && documented!.GetValue<string>() != real!.GetValue<string>()))
                {
                    differences.Add($"{path}: the README shows {Show(documented)}, the answer has {Show(real)}");
                }

                break;
        }

        return differences;
    }

    /// <summary>Each placeholder of <paramref name="documented"/> (a string ending in …, such as "01a2…") and its real value.</summary>
    public static IEnumerable<(string Placeholder, string Value)> Placeholders(JsonNode? documented, JsonNode? real)
    {
        switch (documented)
        {
            case JsonValue value when value.TryGetValue<string>(out var text) && text.Length > 1 && text.EndsWith(Elision, StringComparison.Ordinal)
                && real is JsonValue actual && actual.TryGetValue<string>(out var realText):
                yield return (text, realText);
                break;
            case JsonObject members when real is JsonObject realMembers:
                foreach (var (name, expected) in members)
                {
                    foreach (var found in Placeholders(expected, realMembers[name]))
                    {
                        yield return found;
                    }
                }

                break;
            case JsonArray elements when real is JsonArray realElements:
                for (var i = 0; i < Math.Min(elements.Count, realElements.Count); i++)
                {
                    foreach (var found in Placeholders(elements[i], realElements[i]))
                    {
                        yield return found;
                    }
                }

                break;
        }
    }

    private static string Show(JsonNode? node) => node is null ? "nothing (or null)" : node.ToJsonString();

    /// <summary>The lines between an opening fence at <paramref name="i"/> and its closing fence, where it leaves <paramref name="i"/>.</summary>
    private static List<string> FenceContent(string[] lines, ref int i, int indent)
    {
        var content = new List<string>();
        for (i++; i < lines.Length && !ClosingFence().IsMatch(lines[i]); i++)
        {
            // A fence indented inside a list item indents its lines the same way.
            content.Add(lines[i].Length >= indent && lines[i][..indent].Trim().Length == 0 ? lines[i][indent..] : lines[i]);
        }

        return content;
    }

    /// <summary>
    /// Splits a block into commands, reading quotes as bash does: a command ends at a line end outside quotes that no
    /// backslash continues. Whole comment lines after a command are its answer.
    /// </summary>
    private static List<ReadmeCommand> SplitCommands(List<string> lines, int firstLine)
    {
        var commands = new List<ReadmeCommand>();
        var answers = new Dictionary<int, List<string>>();
        var shell = new StringBuilder();
        var (inSingle, inDouble, start) = (false, false, 0);
        for (var n = 0; n < lines.Count; n++)
        {
            var line = lines[n];
            if (shell.Length == 0)
            {
                if (line.Trim().Length == 0)
                {
                    continue;
                }

                if (line.TrimStart().StartsWith('#'))
                {
                    if (commands.Count > 0)
                    {
                        answers.TryAdd(commands.Count - 1, []);
                        answers[commands.Count - 1].Add(line.TrimStart()[1..].Trim());
                    }

                    continue;
                }

                start = firstLine + n;
            }

            var continued = false;
            var code = line.Length;
            for (var c = 0; c < line.Length; c++)
            {
                var ch = line[c];
                if (inSingle)
                {
                    inSingle = ch != '\'';
                }
                else if (inDouble)
                {
                    c += ch == '\\' ? 1 : 0;
                    inDouble = ch != '"';
                }
                else if (ch == '\\')
                {
                    continued = c == line.Length - 1;
                    c++;
                }
                else if (ch == '#' && (c == 0 || char.IsWhiteSpace(line[c - 1])))
                {
                    // A comment runs to the end of the line.
                    code = c;
                    break;
                }
                else
                {
                    inSingle = ch == '\'';
                    inDouble = ch == '"';
                }
            }

            shell.Append(line[..code].TrimEnd()).Append('\n');
            if (!inSingle && !inDouble && !continued)
            {
                commands.Add(new ReadmeCommand(start, shell.ToString().TrimEnd(), null));
                shell.Clear();
            }
        }

        Assert.True(shell.Length == 0, $"README.md line {start}: the command never ends (an unclosed quote?): {shell}");
        return [.. commands.Select((command, index) => answers.TryGetValue(index, out var answer)
            ? command with { Answer = string.Join('\n', answer) }
            : command)];
    }

    [GeneratedRegex(@"^(?<indent>\s*)```(?<info>\w*)\s*$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^\s*```\s*$")]
    private static partial Regex ClosingFence();

    [GeneratedRegex(@"^\|\s*(?<service>[a-z]+)\s*\|\s*http://(?<address>localhost:\d+)\s*\|")]
    private static partial Regex ServiceRow();
}
