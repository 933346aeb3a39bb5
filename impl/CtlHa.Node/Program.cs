// Placeholder until the node host lands (issue: single-node target).
Console.Error.WriteLine("ctlha: not yet available");
return 2;
