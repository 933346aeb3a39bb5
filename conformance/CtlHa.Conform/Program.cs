// Placeholder until the conformance CLI lands.
Console.Error.WriteLine("ctlha-conform: not yet available");
return 2;
