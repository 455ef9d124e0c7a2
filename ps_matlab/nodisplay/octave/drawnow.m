function drawnow(varargin)
% DRAWNOW  Render nothing (plenexp batch runs under GNU Octave).
%
%   Without a window system Octave's only graphics toolkit is gnuplot, which
%   prints each figure update as ASCII art and pauses 0.1 s per frame. Put
%   first on the path by plenexp/matlab.py for Octave only.
end
