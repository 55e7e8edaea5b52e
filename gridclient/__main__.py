from gridclient.cli import main

raise SystemExit(main())
