using CtlHa.Conform;

var parse = ConformCli.Build().Parse(args);
if (parse.Errors.Count > 0)
{
    // A usage error is exit code 2, as for `ctlha` (a failed check is 1).
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"ctlha-conform: {error.Message}");
    }

    Console.Error.WriteLine("ctlha-conform: see --help");
    return 2;
}

return await parse.InvokeAsync();
